@dn-comms-hub-reuse
Feature: Re-use an installed Communications Hub while meters change
  As a supplier exchanging a meter at a premises whose Communications Hub stays in service, I remove the
  old meter from the CHF device log (its link key goes to the CHF historic device log), decommission it,
  add and commission the new meter and re-join the PPMID and IHD to it (design-notes.md §4.6).
  The CH Re-use design note's own scope is not public (its index entry repeats CH Exchange); the
  mechanics asserted here are GBCS CCS01 / CCS02 (historic log of 15, historic link key in the first half
  of the join window) and the 8.3 / 8.7.x / 8.8.x SRVs.

  @srv-8.11 @srv-8.9 @role-IS @cv-1 @conf-V
  Scenario: A meter removed from the CHF device log is kept in the CHF historic device log
    Given a commissioned ESME and CHF
    When the Import Supplier removes the ESME from the CHF device log
    Then the acknowledgement is I99
    And a response I0 arrives
    And device alert 8F12 arrives from the CHF
    And DCC alert N24 arrives for that request
    And the CHF device log does not list the ESME
    And the CHF historic device log lists the ESME

  @srv-8.9 @srv-8.11 @role-IS @cv-1 @conf-I
  Scenario: A removed meter re-joins with its historic link key, without its install code, in the first half of the join window
    Given a commissioned ESME and CHF
    When the Import Supplier removes the ESME from the CHF device log
    Then a response I0 arrives
    When the Import Supplier adds the ESME to the CHF device log with a wrong install code and a join time of 600 seconds
    Then a response I0 arrives
    When the installer power-cycles the ESME near the CHF
    Then device alert 8183 arrives from the CHF
    And the CHF device log lists the ESME

  @srv-8.11 @role-IS @cv-1 @conf-I
  Scenario: In the second half of the join window a re-added meter needs its install code
    Given a commissioned ESME and CHF
    When the Import Supplier removes the ESME from the CHF device log
    And the Import Supplier adds the ESME to the CHF device log with a wrong install code and a join time of 600 seconds
    Then a response I0 arrives
    When 6 minutes pass
    And the installer power-cycles the ESME near the CHF
    Then device alert 8F48 arrives from the CHF
    When the Import Supplier removes the ESME from the CHF device log
    And the Import Supplier adds the ESME to the CHF device log with its install code and a join time of 600 seconds
    Then a response I0 arrives
    When 6 minutes pass
    And the installer power-cycles the ESME near the CHF
    Then device alert 8183 arrives from the CHF

  @srv-8.1.1 @srv-8.2 @srv-8.3 @srv-8.7.1 @srv-8.9 @srv-8.11 @srv-12.2 @role-IS @cv-1 @cv-4 @cv-5 @cv-8 @conf-I
  Scenario: Meter exchange: the old ESME is removed and decommissioned, the new one commissioned on the same hub
    Given a commissioned ESME and CHF
    When the Import Supplier joins the PPMID to the ESME
    Then a response I0 arrives
    Given a new ESME "00-DB-12-34-56-78-91-A0" is pre-notified by the Import Supplier
    When the Import Supplier removes the old ESME from the CHF device log
    Then a response I0 arrives
    When the Import Supplier decommissions the old ESME
    Then a DCC alert DeviceStatusChangeEvent MeterDecommissioningOrWithdrawal arrives for the old ESME
    And the DCC alert lists the PPMID as an associated Type 1 device
    And the old ESME's SMI status is "Decommissioned"
    When the Import Supplier adds the ESME to the CHF device log with its install code
    And the installer powers up the ESME near the CHF
    Then device alert 8183 arrives from the CHF
    When the Import Supplier commissions the ESME
    Then a response I0 arrives
    And device alert 8F69 arrives from the ESME
    And the ESME's SMI status is "Commissioned"
    And the CHF device log lists the ESME
    And the CHF device log does not list the old ESME

  @srv-8.1.1 @srv-8.7.1 @srv-8.7.2 @srv-8.8.1 @srv-8.8.2 @srv-8.9 @srv-8.11 @srv-12.2 @role-IS @cv-1 @cv-4 @cv-5 @cv-8 @conf-I
  Scenario: The PPMID and the IHD are unjoined from the old meter and re-joined to the new one
    Given a commissioned ESME and CHF
    And the CHF device log lists the ESME
    When the Import Supplier joins the PPMID to the ESME
    Then a response I0 arrives
    When the Import Supplier joins the IHD to the ESME
    Then a response I0 arrives
    And 2 device alerts 8F49 arrive
    Given a new ESME "00-DB-12-34-56-78-91-A0" is pre-notified by the Import Supplier
    When the Import Supplier unjoins the PPMID from the old ESME
    Then a response I0 arrives
    When the Import Supplier unjoins the IHD from the old ESME
    Then a response I0 arrives
    And 2 device alerts 8F4B arrive
    And the old ESME device log does not list the PPMID
    When the Import Supplier adds the ESME to the CHF device log with its install code
    And the installer powers up the ESME near the CHF
    Then device alert 8183 arrives from the CHF
    When the Import Supplier commissions the ESME
    Then a response I0 arrives
    When the Import Supplier joins the PPMID to the ESME
    Then a response I0 arrives
    And device alert 8F49 arrives from the ESME
    When the Import Supplier joins the IHD to the ESME
    Then a response I0 arrives
    And device alert 8F49 arrives from the ESME
    And the ESME device log lists the PPMID
    And the ESME device log lists the IHD

  @srv-8.7.2 @srv-8.8.2 @srv-8.9 @role-IS @cv-1 @conf-I
  Scenario: Unjoining a device that is not joined fails with 8F4A and leaves the meter's log unchanged
    Given a commissioned ESME and CHF
    And the CHF device log lists the ESME
    And the CHF device log lists the IHD
    And the ESME device log does not list the IHD
    When the Import Supplier unjoins the IHD from the ESME
    Then a response I0 arrives
    And device alert 8F4A arrives from the ESME
    And the ESME device log does not list the IHD
    When the Import Supplier joins the IHD to the ESME
    Then a response I0 arrives
    And device alert 8F49 arrives from the ESME
    And the ESME device log lists the IHD

  @srv-8.11 @srv-8.9 @role-IS @cv-1 @conf-I
  Scenario: After 15 later removals the historic entry is overwritten and the install code is needed again
    Given a commissioned ESME and CHF
    When the Import Supplier removes the ESME from the CHF device log
    Then a response I0 arrives
    And the CHF historic device log lists the ESME
    When the Import Supplier adds and removes 15 other devices on the CHF device log
    Then the CHF historic device log does not list the ESME
    When the Import Supplier adds the ESME to the CHF device log with a wrong install code
    Then a response I0 arrives
    When the installer power-cycles the ESME near the CHF
    Then device alert 8F48 arrives from the CHF

  @srv-8.1.1 @srv-8.2 @srv-8.3 @srv-8.9 @srv-8.11 @srv-12.2 @role-GS @cv-1 @cv-4 @cv-5 @cv-8 @conf-I
  Scenario: Gas meter exchange on the same hub: the new GSME uses the hub's GPF
    Given a commissioned GSME, GPF and CHF
    And a new GSME "00-DB-12-34-56-78-91-A1" is pre-notified by the Gas Supplier
    When the Gas Supplier removes the old GSME from the CHF device log
    Then a response I0 arrives
    And the CHF historic device log lists the old GSME
    When the Gas Supplier decommissions the old GSME
    Then a DCC alert DeviceStatusChangeEvent MeterDecommissioningOrWithdrawal arrives for the old GSME
    When the Gas Supplier adds the GSME to the CHF device log with its install code
    And the installer powers up the GSME near the CHF
    Then device alert 8183 arrives from the CHF
    When the Gas Supplier commissions the GSME
    Then a response I0 arrives
    And device alert 8071 arrives from the GPF
    And the GSME's SMI status is "Commissioned"
    And the old GSME's SMI status is "Decommissioned"
