@dn-install-commission
Feature: Install and commission a smart metering system (SMETS2+, single Communications Hub)
  As a supplier installing meters at a premises, I pre-notify the devices, report the Communications Hub
  installed, add each device to the CHF device log with its install code, let it join the SMHAN and
  commission it, so that the DCC records it and it accepts my commands (design-notes.md §4.1).
  The order of the steps follows the design note as best known; where a scenario asserts a fact the
  design-note text has not confirmed, it is tagged @conf-U and says so.

  @srv-6.15.1 @srv-8.1.1 @srv-8.2 @srv-8.11 @srv-8.14.1 @srv-12.2 @role-IS @cv-1 @cv-4 @cv-5 @cv-8 @conf-U
  Scenario: Electricity only: a new hub and ESME are installed and the ESME commissioned (hub status best known, unverified)
    Given the DCC has delivered a new Communications Hub, CHF "00-DB-12-34-56-78-91-A2" with GPF "00-DB-12-34-56-78-91-A3", for the premises
    And a new ESME "00-DB-12-34-56-78-91-A0" is pre-notified by the Import Supplier
    When the Import Supplier sends SRV 8.2 to the DCC for the ESME
    Then the response is I0 with DSPInventory
    And the ESME's SMI status is "Pending"
    When the Import Supplier reports the CHF installed with SM WAN
    Then the CHF's SMI status is "Commissioned"
    When the Import Supplier adds the ESME to the CHF device log with its install code
    Then a response I0 arrives
    And device alert 8F12 arrives from the CHF
    And DCC alert N24 arrives for that request
    And the ESME's SMI status is "Whitelisted"
    When the installer powers up the ESME near the CHF
    Then device alert 8183 arrives from the CHF
    And the ESME's SMI status is "Installed Not Commissioned"
    When the Import Supplier commissions the ESME
    Then the acknowledgement is I99
    And a response I0 arrives
    And the device's response reports success
    And device alert 8F69 arrives from the ESME
    And a DCC alert DeviceStatusChangeEvent MeterIdentity arrives for the ESME
    And the ESME's SMI status is "Commissioned"
    When the Import Supplier sends SRV 6.15.1 to the ESME with RemotePartyRole "NetworkOperator" as a critical request
    Then a response I0 arrives

  @srv-6.21 @srv-8.1.1 @srv-8.2 @srv-8.11 @srv-8.14.1 @srv-12.2 @role-GS @cv-1 @cv-4 @cv-5 @cv-8 @conf-U
  Scenario: Gas only: the GPF is handed over and the GSME commissioned with the GCS28 tolerance (hub status best known, unverified)
    Given the DCC has delivered a new Communications Hub, CHF "00-DB-12-34-56-78-91-A2" with GPF "00-DB-12-34-56-78-91-A3", for the premises
    And a new GSME "00-DB-12-34-56-78-91-A1" is pre-notified by the Gas Supplier
    When the Gas Supplier reports the CHF installed with SM WAN
    Then the GPF's SMI status is "Commissioned"
    When the Gas Supplier sends SRV 6.21 to the GPF with RemotePartyRole "Supplier"
    Then the acknowledgement is I99
    And a response I0 arrives
    When the Gas Supplier adds the GSME to the CHF device log with its install code
    Then a response I0 arrives
    And DCC alert N24 arrives for that request
    When the installer powers up the GSME near the CHF
    Then device alert 8183 arrives from the CHF
    When the Gas Supplier commissions the GSME
    Then a response I0 arrives
    And the response reports a clock
    And device alert 8F69 arrives from the GSME
    And device alert 8071 arrives from the GPF
    And the GSME's SMI status is "Commissioned"

  @srv-8.1.1 @srv-8.2 @srv-8.9 @srv-8.11 @srv-8.14.1 @srv-12.2 @role-GS @role-IS @cv-1 @cv-4 @cv-5 @cv-8 @conf-U
  Scenario: Dual fuel: both meters join one hub and are commissioned by their suppliers (hub status best known, unverified)
    Given the DCC has delivered a new Communications Hub, CHF "00-DB-12-34-56-78-91-A2" with GPF "00-DB-12-34-56-78-91-A3", for the premises
    And a new ESME "00-DB-12-34-56-78-91-A0" is pre-notified by the Import Supplier
    And a new GSME "00-DB-12-34-56-78-91-A1" is pre-notified by the Gas Supplier
    When the Import Supplier reports the CHF installed with SM WAN
    And the Import Supplier adds the ESME to the CHF device log with its install code
    Then a response I0 arrives
    When the Gas Supplier adds the GSME to the CHF device log with its install code
    Then a response I0 arrives
    And 2 DCC alerts N24 arrive
    When the installer powers up the ESME near the CHF
    And the installer powers up the GSME near the CHF
    Then 2 device alerts 8183 arrive
    When the Import Supplier commissions the ESME
    Then a response I0 arrives
    And device alert 8F69 arrives from the ESME
    When the Gas Supplier commissions the GSME
    Then a response I0 arrives
    And device alert 8F69 arrives from the GSME
    And the ESME's SMI status is "Commissioned"
    And the GSME's SMI status is "Commissioned"
    And the CHF device log lists the ESME
    And the CHF device log lists the GSME

  @srv-8.2 @srv-8.7.1 @srv-8.7.2 @srv-8.9 @srv-8.11 @srv-12.2 @role-IS @cv-1 @cv-4 @cv-5 @cv-8 @conf-U
  Scenario: A PPMID and an IHD join the commissioned ESME (their Commissioned status best known, unverified)
    Given a commissioned ESME and CHF
    And the CHF device log lists the ESME
    And a new PPMID "00-DB-12-34-56-78-91-A4" is pre-notified by the Import Supplier
    And a new IHD "00-DB-12-34-56-78-91-A7" is pre-notified by the Import Supplier
    When the Import Supplier adds the PPMID to the CHF device log with its install code
    Then a response I0 arrives
    When the Import Supplier adds the IHD to the CHF device log with its install code
    Then a response I0 arrives
    When the installer powers up the PPMID near the CHF
    And the installer powers up the IHD near the CHF
    Then 2 device alerts 8183 arrive
    When the Import Supplier joins the PPMID to the ESME
    Then the acknowledgement is I99
    And a response I0 arrives
    And device alert 8F49 arrives from the ESME
    When the Import Supplier joins the IHD to the ESME
    Then a response I0 arrives
    And device alert 8F49 arrives from the ESME
    And the ESME device log lists the PPMID
    And the ESME device log lists the IHD
    And the PPMID's SMI status is "Commissioned"

  @srv-8.1.1 @srv-8.2 @srv-8.11 @srv-12.2 @role-IS @cv-1 @cv-4 @cv-5 @cv-8 @conf-I
  Scenario: A wrong install code leaves the ESME off the SMHAN and it cannot be commissioned
    Given a commissioned CHF
    And a new ESME "00-DB-12-34-56-78-91-A0" is pre-notified by the Import Supplier
    When the Import Supplier adds the ESME to the CHF device log with a wrong install code
    Then a response I0 arrives
    And DCC alert N24 arrives for that request
    When the installer powers up the ESME near the CHF
    Then device alert 8F48 arrives from the CHF
    And the ESME's SMI status is "Whitelisted"
    When the Import Supplier commissions the ESME
    Then the acknowledgement is I99
    And a response E21 arrives
    And the ESME's SMI status is "Whitelisted"

  @srv-8.1.1 @srv-8.2 @srv-8.11 @srv-12.2 @role-IS @cv-1 @cv-4 @cv-5 @cv-8 @conf-I
  Scenario: An expired join window is reopened by removing and re-adding the ESME
    Given a commissioned CHF
    And a new ESME "00-DB-12-34-56-78-91-A0" is pre-notified by the Import Supplier
    When the Import Supplier adds the ESME to the CHF device log with its install code and a join time of 60 seconds
    Then a response I0 arrives
    When 2 minutes pass
    And the installer powers up the ESME near the CHF
    Then device alert 8F48 arrives from the CHF
    When the Import Supplier removes the ESME from the CHF device log
    Then a response I0 arrives
    When the Import Supplier adds the ESME to the CHF device log with its install code
    Then a response I0 arrives
    When the installer powers up the ESME near the CHF
    Then device alert 8183 arrives from the CHF
    When the Import Supplier commissions the ESME
    Then a response I0 arrives
    And the ESME's SMI status is "Commissioned"

  @srv-8.1.1 @srv-8.2 @srv-8.11 @srv-12.2 @role-IS @cv-1 @cv-4 @cv-5 @cv-8 @conf-U
  Scenario: Commissioning with a time outside the clock tolerance leaves the ESME uncommissioned (response code best known, unverified)
    Given a commissioned CHF
    And a new ESME "00-DB-12-34-56-78-91-A0" is pre-notified by the Import Supplier
    When the Import Supplier adds the ESME to the CHF device log with its install code
    And the installer powers up the ESME near the CHF
    Then device alert 8183 arrives from the CHF
    When the Import Supplier commissions the ESME with a CurrentDateTime 2 hours behind
    Then a response I0 arrives
    And the ESME stays uncommissioned because the time is outside its clock tolerance
    And device alert 81C6 arrives from the ESME
    And the ESME's SMI status is "Installed Not Commissioned"
    When the Import Supplier commissions the ESME
    Then a response I0 arrives
    And device alert 8F69 arrives from the ESME
    And the ESME's SMI status is "Commissioned"

  @srv-8.9 @srv-8.11 @srv-12.2 @role-IS @cv-1 @cv-8 @conf-I
  Scenario: A duplicate 8.11 Add succeeds but the CHF ignores the new key
    Given a commissioned CHF
    And a new ESME "00-DB-12-34-56-78-91-A0" is pre-notified by the Import Supplier
    When the Import Supplier adds the ESME to the CHF device log with its install code
    Then a response I0 arrives
    And the device's response reports success
    When the Import Supplier adds the ESME to the CHF device log with a wrong install code
    Then a response I0 arrives
    And the device's response reports success
    And 2 DCC alerts N24 arrive
    When the installer powers up the ESME near the CHF
    Then device alert 8183 arrives from the CHF
    And the CHF device log lists the ESME

  @srv-8.1.1 @srv-8.2 @srv-8.11 @srv-12.2 @role-ED @role-IS @cv-1 @cv-4 @cv-5 @cv-8 @conf-I
  Scenario: A network operator may neither whitelist nor commission; the supplier then commissions
    Given a commissioned CHF
    And a new ESME "00-DB-12-34-56-78-91-A0" is pre-notified by the Import Supplier
    When the Electricity Distributor adds the ESME to the CHF device log with its install code
    Then the request is rejected with E2
    When the Import Supplier adds the ESME to the CHF device log with its install code
    And the installer powers up the ESME near the CHF
    Then device alert 8183 arrives from the CHF
    When the Electricity Distributor commissions the ESME
    Then the request is rejected with E2
    And the ESME's SMI status is "Installed Not Commissioned"
    When the Import Supplier commissions the ESME
    Then a response I0 arrives
    And the ESME's SMI status is "Commissioned"
