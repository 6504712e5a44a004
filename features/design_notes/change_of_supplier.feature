@dn-change-of-supplier
Feature: Change of Supplier: the gaining supplier takes over a credit-mode meter
  When the registration data shows a new supplier from the supply start date, the gaining supplier
  discovers the premises' devices with SRV 8.2, replaces the supplier credentials on each meter with
  SRV 6.23 (at once, or future-dated to the supply start date, which it may cancel), and then reads and
  reconfigures the meter. From then on the DCC refuses the losing supplier's commands, and both parties
  are told of the switch by DCC alerts.
  (Design notes §4.3. The SRVs, the 6.23 body and the DCC alert payload types are verified; the
  order of the flow, the recipients of each alert and their codes are best known, unverified, and
  such scenarios are tagged @conf-U.)

  Background:
    Given a commissioned ESME and CHF
    And the gaining supplier is "90-B3-D5-1F-30-03-00-00"

  @srv-8.2 @srv-6.23 @srv-6.2.9 @role-IS @cv-8 @cv-1 @conf-U
  Scenario: An immediate change of supplier moves the ESME to the gaining supplier (alert recipients best known, unverified)
    Given the registration data shows the gaining supplier for the ESME from the supply start date
    When the gaining supplier sends SRV 8.2 to the DCC for the ESME
    Then the response is I0 with DSPInventory
    When the gaining supplier sends SRV 6.23 to the ESME
    Then the acknowledgement is I99
    And a response I0 arrives within the on-demand timeout
    And the GBCS payload answers that request
    And device alert 8F70 arrives from the ESME
    And the gaining supplier receives a DCC alert ChangeOfSupplier naming that request
    And the losing supplier receives a DCC alert DeviceChangeOfSupplier for the ESME
    When the gaining supplier sends SRV 6.2.9 to the ESME
    Then the acknowledgement is I99
    And a response I0 arrives
    And the response reports a payment_mode

  @srv-6.23 @srv-6.2.9 @role-IS @cv-1 @conf-I
  Scenario: A change of supplier future-dated to the supply start date takes effect only then
    Given the registration data shows the gaining supplier for the ESME from the supply start date
    When the gaining supplier sends SRV 6.23 to the ESME to execute in 2 days
    Then the acknowledgement is I99
    And a response I0 arrives
    When the losing supplier sends SRV 6.2.9 to the ESME
    Then the acknowledgement is I99
    And a response I0 arrives
    When the gaining supplier sends SRV 6.2.9 to the ESME
    Then the DCC refuses the gaining supplier's request as it is not the registered supplier
    And nothing the future-dated request causes arrives before its execution date-time
    When the supply start date arrives
    Then the future-dated SRV 6.23 is actioned with alert 8F66
    And device alert 8F70 arrives from the ESME
    When the losing supplier sends SRV 6.2.9 to the ESME
    Then the DCC refuses the losing supplier's request as it is not the registered supplier
    When the gaining supplier sends SRV 6.2.9 to the ESME
    Then the acknowledgement is I99
    And a response I0 arrives

  @srv-6.23 @srv-6.2.9 @role-IS @cv-1 @conf-I
  Scenario: A cancelled future-dated change of supplier leaves the losing supplier in place
    Given the registration data shows the gaining supplier for the ESME from the supply start date
    When the gaining supplier sends SRV 6.23 to the ESME to execute in 1 day
    Then the acknowledgement is I99
    And a response I0 arrives
    When the gaining supplier cancels the future-dated SRV 6.23 for the ESME
    Then the acknowledgement is I99
    And a response I0 arrives
    And the GBCS payload answers that request
    When 2 days pass
    Then no further message arrives within the quiet time
    When the losing supplier sends SRV 6.2.9 to the ESME
    Then the acknowledgement is I99
    And a response I0 arrives
    When the gaining supplier sends SRV 6.2.9 to the ESME
    Then the DCC refuses the gaining supplier's request as it is not the registered supplier

  @srv-8.2 @srv-6.23 @srv-6.2.9 @role-IS @cv-8 @cv-1 @conf-I
  Scenario: A supplier the registration data does not name cannot take over the ESME
    When the gaining supplier sends SRV 8.2 to the DCC for the ESME
    Then the response is I0 with DSPInventory
    When the gaining supplier sends SRV 6.23 to the ESME
    Then the DCC refuses the gaining supplier's request as it is not the registered supplier
    And no further message arrives within the quiet time
    When the losing supplier sends SRV 6.2.9 to the ESME
    Then the acknowledgement is I99
    And a response I0 arrives

  @srv-6.23 @srv-6.2.9 @srv-1.1.1 @srv-7.4 @role-IS @role-GS @cv-1 @cv-4 @cv-5 @conf-I
  Scenario: After the change the DCC refuses the losing supplier's commands to both meters
    Given a commissioned GSME
    And the registration data shows the gaining supplier for the ESME and the GSME from the supply start date
    When the gaining supplier takes over the ESME with SRV 6.23
    And the gaining supplier takes over the GSME with SRV 6.23
    Then the GBCS payload answers that request
    When the losing supplier sends SRV 6.2.9 to the ESME
    Then the DCC refuses the losing supplier's request as it is not the registered supplier
    When the losing supplier sends SRV 1.1.1 to the ESME with SeasonName "old26"
    Then the DCC refuses the losing supplier's request as it is not the registered supplier
    When the losing supplier sends SRV 7.4 to the GSME
    Then the DCC refuses the losing supplier's request as it is not the registered supplier
    When the gaining supplier sends SRV 7.4 to the GSME
    Then the acknowledgement is I99
    And a response I0 arrives

  @srv-6.23 @srv-6.2.4 @srv-6.2.7 @srv-4.11.1 @srv-1.1.1 @srv-1.2.1 @srv-3.4 @role-IS @cv-1 @cv-4 @cv-5 @conf-U
  Scenario: The gaining supplier reads the meter, then replaces the tariff and sets the supplier name (design-note read list best known, unverified)
    Given the registration data shows the gaining supplier for the ESME from the supply start date
    When the losing supplier sends SRV 1.1.1 to the ESME with SeasonName "losing26"
    Then a response I0 arrives
    When the gaining supplier takes over the ESME with SRV 6.23
    When the gaining supplier sends SRV 6.2.7 to the ESME
    Then a response I0 arrives
    And the response reports an mpxn
    When the gaining supplier sends SRV 4.11.1 to the ESME
    Then a response I0 arrives
    And the response reports tariff.season "losing26"
    When the gaining supplier sends SRV 1.1.1 to the ESME with SeasonName "gain26"
    Then the acknowledgement is I99
    And a response I0 arrives
    When the gaining supplier sends SRV 1.2.1 to the ESME with StandingCharge "31"
    Then a response I0 arrives
    When the gaining supplier sends SRV 3.4 to the ESME with SupplierName "GAINING ENERGY" and SupplierTelephoneNumber "08001234567"
    Then a response I0 arrives
    When the gaining supplier sends SRV 4.11.1 to the ESME
    Then a response I0 arrives
    And the response reports tariff.season "gain26"
    And the response reports prices.standing_charge 31
    When the gaining supplier sends SRV 6.2.4 to the ESME
    Then a response I0 arrives
    And the GBCS payload answers that request

  @srv-6.23 @srv-6.22 @srv-6.2.10 @srv-5.1 @srv-5.2 @role-IS @cv-1 @cv-8 @conf-U
  Scenario: The gaining supplier sets its own alert behaviour and DCC schedules (design-note list best known, unverified)
    Given the registration data shows the gaining supplier for the ESME from the supply start date
    When the gaining supplier takes over the ESME with SRV 6.23
    When the gaining supplier sends SRV 6.22 to the ESME with AlertSettings "ElectricitySupplierAlerts" and x810D "Enable" and x810E "Enable"
    Then the acknowledgement is I99
    And a response I0 arrives
    When the gaining supplier sends SRV 6.2.10 to the ESME
    Then a response I0 arrives
    And the GBCS payload answers that request
    When the gaining supplier sends SRV 5.1 to the DCC for the ESME with ScheduleFrequency "Daily" and ScheduleStartDate "2030-01-01"
    Then the response is I0 with DSPScheduleID
    When the gaining supplier sends SRV 5.2 to the DCC for the ESME
    Then the response is I0 with DSPSchedulesRead
