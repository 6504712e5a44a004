@dn-alcs
Feature: Auxiliary Load Control Switches: describe, schedule, boost and switch the loads an ESME controls
  As an Import Supplier I describe the auxiliary load control switches of an ESME, give them a switching
  schedule (at once or future-dated), associate them with the boost button, set the randomised offset and
  switch them by hand; network operators and other users read what I set; a separate HCALCS joins the
  ESME over the HAN; after a change of supplier the gaining supplier reads and rewrites the configuration.
  (Design notes §4.9. The SRVs, roles and command variants are verified; what each read reports and the
  order of the steps are best known, unverified: those scenarios are tagged @conf-U.)

  Background:
    Given a commissioned ESME and CHF

  @srv-6.14.1 @srv-7.7 @role-IS @role-ED @cv-4 @cv-5 @cv-1 @conf-U
  Scenario: Switch descriptions are stored per switch and read back by the network operator (best known, unverified)
    When the Import Supplier describes switch 1 of the ESME as "immersion heater"
    Then the acknowledgement is I99
    And a response I0 arrives within the on-demand timeout
    When the Import Supplier describes switch 4 of the ESME as "storage heater"
    Then a response I0 arrives within the on-demand timeout
    And the ESME's ALCS data read by the Import Supplier shows switch 4 described as "storage heater"
    And the ESME's ALCS data read by the Electricity Distributor shows switch 1 described as "immersion heater"

  @srv-6.14.2 @srv-6.14.3 @srv-7.7 @srv-7.14 @role-IS @role-OU @role-ED @cv-4 @cv-5 @cv-1 @conf-U
  Scenario: A switching schedule applies at once and the ESME carries out an auxiliary controller schedule (best known, unverified)
    When the Import Supplier sends SRV 6.14.2 to the ESME as a critical request
    Then the acknowledgement is I99
    And a response I0 arrives within the on-demand timeout
    And the ESME's ALCS data read by the Other User shows 2 scheduled switchings
    When the Import Supplier sends SRV 6.14.3 to the ESME with CommandedStateLevel "40" and SwitchTime "07:30:00" as a critical request
    Then a response I0 arrives within the on-demand timeout
    And the device's response reports success

  @srv-6.14.2 @srv-7.7 @role-IS @cv-4 @cv-5 @cv-1 @conf-U
  Scenario: A future-dated switching schedule applies at its execution date-time, not before (best known, unverified)
    Given the ESME's ALCS data read by the Import Supplier shows no scheduled switching
    When the Import Supplier sends SRV 6.14.2 to the ESME as a critical request to execute in 2 days
    Then the acknowledgement is I99
    And a response I0 arrives within the on-demand timeout
    And the ESME's ALCS data read by the Import Supplier shows no scheduled switching
    And nothing the future-dated request causes arrives before its execution date-time
    When the execution date-time passes
    Then a future-dated alert 8F66 arrives for that request
    And the ESME's ALCS data read by the Import Supplier shows 2 scheduled switchings

  @srv-6.14.2 @srv-7.7 @role-IS @cv-4 @cv-5 @cv-1 @conf-U
  Scenario: A cancelled future-dated switching schedule does not apply when its execution date-time passes (best known, unverified)
    Given the ESME's ALCS data read by the Import Supplier shows no scheduled switching
    When the Import Supplier sends SRV 6.14.2 to the ESME as a critical request to execute in 1 day
    Then a response I0 arrives within the on-demand timeout
    When the Import Supplier cancels the future-dated SRV 6.14.2 for the ESME
    Then the acknowledgement is I99
    And a response I0 arrives within the on-demand timeout
    And the GBCS payload answers that request
    When 2 days pass
    Then no further message arrives within the quiet time
    And the ESME's ALCS data read by the Import Supplier shows no scheduled switching

  @srv-7.9 @srv-7.10 @srv-7.11 @role-IS @role-OU @cv-1 @conf-U
  Scenario: Boost button associations are added and removed per switch (best known, unverified)
    Given the ESME's boost button read by the Import Supplier controls no switch
    When the Import Supplier adds switches 1 and 3 to the boost button of the ESME
    Then the acknowledgement is I99
    And a response I0 arrives within the on-demand timeout
    And the ESME's boost button read by the Other User controls switches 1 and 3
    When the Import Supplier removes switch 3 from the boost button of the ESME
    Then the acknowledgement is I99
    And a response I0 arrives within the on-demand timeout
    And the ESME's boost button read by the Import Supplier controls switch 1

  @srv-7.12 @srv-6.2.2 @role-IS @role-ED @cv-4 @cv-5 @cv-1 @conf-U
  Scenario: The randomised offset limit is set by the supplier and read by the supplier and the network operator (best known, unverified)
    When the Import Supplier sends SRV 7.12 to the ESME with RandomisedOffsetLimit "900" as a critical request
    Then the acknowledgement is I99
    And a response I0 arrives within the on-demand timeout
    And the device's response reports success
    And the ESME's randomisation configuration read by the Electricity Distributor shows a randomised offset limit of 900 seconds
    And the ESME's randomisation configuration read by the Import Supplier shows a randomised offset limit of 900 seconds

  @srv-7.5 @srv-7.6 @srv-7.8 @srv-7.7 @role-IS @cv-4 @cv-5 @cv-1 @conf-U
  Scenario: Manual switching overrides the schedule until its duration ends or the switch is reset (best known, unverified)
    When the Import Supplier activates switch 3 of the ESME for 30 minutes
    Then the acknowledgement is I99
    And a response I0 arrives within the on-demand timeout
    And the ESME's ALCS data read by the Import Supplier shows switch 3 on
    When 30 minutes pass
    Then the ESME's ALCS data read by the Import Supplier shows switch 3 on its schedule
    When the Import Supplier deactivates switch 2 of the ESME until reset
    Then a response I0 arrives within the on-demand timeout
    When 2 days pass
    Then the ESME's ALCS data read by the Import Supplier shows switch 2 off
    When the Import Supplier resets switch 2 of the ESME to its schedule
    Then the acknowledgement is I99
    And a response I0 arrives within the on-demand timeout
    And the ESME's ALCS data read by the Import Supplier shows switch 2 on its schedule

  @srv-6.14.1 @srv-7.9 @srv-7.7 @srv-7.11 @role-IS @role-ED @role-OU @cv-4 @cv-5 @cv-1 @conf-I
  Scenario: Network operators and other users read ALCS data but cannot change it
    Given the ESME's boost button read by the Import Supplier controls no switch
    When the Import Supplier describes switch 2 of the ESME as "heat pump"
    Then a response I0 arrives within the on-demand timeout
    And the ESME's ALCS data read by the Electricity Distributor shows switch 2 described as "heat pump"
    And the ESME's ALCS data read by the Other User shows switch 2 described as "heat pump"
    When the Electricity Distributor sends SRV 6.14.1 to the ESME
    Then the request is rejected with E2
    When the Other User sends SRV 7.9 to the ESME
    Then the request is rejected with E2
    And the ESME's boost button read by the Other User controls no switch

  @srv-12.2 @srv-8.11 @srv-8.7.1 @srv-8.2 @role-IS @cv-8 @cv-1 @cv-4 @cv-5 @conf-I
  Scenario: An HCALCS is added to the hub's device log and joined to the ESME
    Given the HCALCS is "00-DB-12-34-56-78-90-C5"
    When the Import Supplier sends SRV 12.2 to the DCC with DeviceID "00-DB-12-34-56-78-90-C5" and DeviceType "HCALCS"
    Then the response is I0
    And the HCALCS's SMI status is "Pending"
    When the Import Supplier sends SRV 8.11 to the CHF with DeviceID "00-DB-12-34-56-78-90-C5"
    Then the acknowledgement is I99
    And a response I0 arrives within the on-demand timeout
    And DCC alert N24 arrives for that request
    And device alert 8F12 arrives from the CHF
    When the installer powers up the HCALCS near the CHF
    Then device alert 8183 arrives from the CHF
    When the Import Supplier sends SRV 8.7.1 to the ESME with OtherDeviceID "00-DB-12-34-56-78-90-C5" as a critical request
    Then the acknowledgement is I99
    And a response I0 arrives within the on-demand timeout
    And device alert 8F49 arrives from the ESME
    And the HCALCS's SMI status is "Commissioned"

  @srv-6.23 @srv-6.14.1 @srv-7.9 @srv-7.10 @srv-7.7 @srv-7.11 @role-IS @cv-4 @cv-5 @cv-1 @conf-U
  Scenario: After a change of supplier the gaining supplier reads and rewrites the ALCS configuration (best known, unverified)
    Given the gaining supplier is "90-B3-D5-1F-30-03-00-00"
    And the registration data shows the gaining supplier for the ESME from the supply start date
    When the Import Supplier describes switch 1 of the ESME as "old immersion heater"
    Then the acknowledgement is I99
    And a response I0 arrives within the on-demand timeout
    When the Import Supplier adds switches 1 and 2 to the boost button of the ESME
    Then a response I0 arrives within the on-demand timeout
    When the gaining supplier sends SRV 6.23 to the ESME
    Then the acknowledgement is I99
    And a response I0 arrives within the on-demand timeout
    Given the Import Supplier is "90-B3-D5-1F-30-03-00-00"
    Then the ESME's ALCS data read by the Import Supplier shows switch 1 described as "old immersion heater"
    And the ESME's boost button read by the Import Supplier controls switches 1 and 2
    When the Import Supplier describes switch 1 of the ESME as "new heat pump"
    And the Import Supplier removes switches 1 and 2 from the boost button of the ESME
    Then the ESME's ALCS data read by the Import Supplier shows switch 1 described as "new heat pump"
    And the ESME's boost button read by the Import Supplier controls no switch
