@dn-no-wan
Feature: Install and leave when there is no SM WAN (draft design note)
  As a supplier at a premises without SM WAN, I fit the Communications Hub and the meters, report the hub
  installed without SM WAN and leave; nothing reaches the devices until the WAN arrives, and then I (or
  the supplier who has gained the premises) complete commissioning with the install codes
  (design-notes.md §4.2; MP121: the install code is needed for 8.11 before 8.1.1).
  The No WAN design note is a draft; the E20 for requests through a hub without WAN follows from E20's
  meaning, and scenarios that rely on the hub's status after 8.14.1 say so (best known, unverified).

  Background:
    Given the DCC has delivered a new Communications Hub, CHF "00-DB-12-34-56-78-91-A2" with GPF "00-DB-12-34-56-78-91-A3", for the premises

  @srv-8.2 @srv-8.11 @srv-8.14.2 @srv-12.2 @role-IS @cv-1 @cv-8 @conf-I
  Scenario: Install and leave: the hub is reported without SM WAN and the ESME cannot be whitelisted
    Given a new ESME "00-DB-12-34-56-78-91-A0" is pre-notified by the Import Supplier
    When the Import Supplier reports the CHF installed without SM WAN
    Then the CHF's SMI status is "Installed Not Commissioned"
    And the GPF's SMI status is "Installed Not Commissioned"
    When the Import Supplier adds the ESME to the CHF device log with its install code
    Then the request fails because the hub has no SM WAN
    And the ESME's SMI status is "Pending"
    And no further message arrives within the quiet time

  @srv-8.2 @srv-8.9 @srv-8.14.1 @srv-8.14.2 @srv-11.2 @role-GS @role-IS @cv-1 @cv-8 @conf-U
  Scenario: Requests to the hub fail while there is no SM WAN and succeed once it arrives (hub status best known, unverified)
    When the Import Supplier reports the CHF installed without SM WAN
    And the Import Supplier sends SRV 11.2 to the CHF
    Then the request fails because the hub has no SM WAN
    When the Gas Supplier sends SRV 8.9 to the GPF
    Then the request fails because the hub has no SM WAN
    When the Import Supplier reports the CHF installed with SM WAN
    Then the CHF's SMI status is "Commissioned"
    When the Import Supplier sends SRV 11.2 to the CHF
    Then the acknowledgement is I99
    And a response I0 arrives
    When the Gas Supplier sends SRV 8.9 to the GPF
    Then a response I0 arrives

  @srv-8.1.1 @srv-8.2 @srv-8.11 @srv-8.14.1 @srv-8.14.2 @srv-12.2 @role-IS @cv-1 @cv-4 @cv-5 @cv-8 @conf-U
  Scenario: Commissioning is completed with the install code once the WAN arrives (hub status best known, unverified)
    Given a new ESME "00-DB-12-34-56-78-91-A0" is pre-notified by the Import Supplier
    When the Import Supplier reports the CHF installed without SM WAN
    And the Import Supplier adds the ESME to the CHF device log with its install code
    Then the request fails because the hub has no SM WAN
    When 30 days pass
    And the Import Supplier reports the CHF installed with SM WAN
    And the Import Supplier adds the ESME to the CHF device log with its install code
    Then a response I0 arrives
    And DCC alert N24 arrives for that request
    When the installer power-cycles the ESME near the CHF
    Then device alert 8183 arrives from the CHF
    When the Import Supplier commissions the ESME
    Then a response I0 arrives
    And device alert 8F69 arrives from the ESME
    And the ESME's SMI status is "Commissioned"

  @srv-8.1.1 @srv-8.2 @srv-8.11 @srv-8.14.1 @srv-8.14.2 @srv-12.2 @role-GS @cv-1 @cv-4 @cv-5 @cv-8 @conf-U
  Scenario: A gas meter left without WAN is commissioned by the Gas Supplier once the WAN arrives (hub status best known, unverified)
    Given a new GSME "00-DB-12-34-56-78-91-A1" is pre-notified by the Gas Supplier
    When the Gas Supplier reports the CHF installed without SM WAN
    And the Gas Supplier commissions the GSME
    Then the request is rejected with E5
    When the Gas Supplier reports the CHF installed with SM WAN
    And the Gas Supplier adds the GSME to the CHF device log with its install code
    Then a response I0 arrives
    When the installer power-cycles the GSME near the CHF
    Then device alert 8183 arrives from the CHF
    When the Gas Supplier commissions the GSME
    Then a response I0 arrives
    And device alert 8071 arrives from the GPF
    And the GSME's SMI status is "Commissioned"

  @srv-8.14.2 @srv-11.2 @srv-8.9 @role-IS @role-GS @cv-8 @cv-2 @conf-I
  Scenario: Commands for local delivery are still issued to the installer while there is no SM WAN
    When the Import Supplier reports the CHF installed without SM WAN
    And the Import Supplier sends SRV 11.2 to the CHF for local delivery
    Then the response is I0 with LocalCommand
    When the Gas Supplier sends SRV 8.9 to the GPF for local delivery
    Then the response is I0 with LocalCommand
    And no further message arrives within the quiet time

  @srv-8.1.1 @srv-8.2 @srv-8.11 @srv-8.14.1 @srv-8.14.2 @srv-12.2 @role-IS @cv-1 @cv-4 @cv-5 @cv-8 @conf-U
  Scenario: After a change of supplier before the WAN arrives, the gaining supplier needs the install code (MP121; hub status best known, unverified)
    Given a new ESME "00-DB-12-34-56-78-91-A0" is pre-notified by the Import Supplier
    When the Import Supplier reports the CHF installed without SM WAN
    And the supply moves to the Import Supplier "90-B3-D5-1F-30-03-00-00" before the SM WAN arrives
    And the Import Supplier reports the CHF installed with SM WAN
    And the Import Supplier adds the ESME to the CHF device log with a wrong install code
    Then a response I0 arrives
    When the installer power-cycles the ESME near the CHF
    Then device alert 8F48 arrives from the CHF
    When the Import Supplier commissions the ESME
    Then a response E21 arrives
    When the installing supplier hands over the ESME's install code (MP121)
    And the Import Supplier removes the ESME from the CHF device log
    And the Import Supplier adds the ESME to the CHF device log with the install code it was given
    Then a response I0 arrives
    When the installer power-cycles the ESME near the CHF
    Then device alert 8183 arrives from the CHF
    When the Import Supplier commissions the ESME
    Then a response I0 arrives
    And the ESME's SMI status is "Commissioned"

  @srv-8.2 @srv-8.11 @srv-8.14.1 @srv-8.14.2 @srv-8.14.4 @srv-12.2 @role-IS @cv-1 @cv-8 @conf-U
  Scenario: A hub without WAN is returned for another SM WAN variant and the new hub carries the ESME (best known, unverified)
    Given a new ESME "00-DB-12-34-56-78-91-A0" is pre-notified by the Import Supplier
    When the Import Supplier reports the CHF installed without SM WAN
    And the Import Supplier returns the CHF without a fault as "No Fault Return (SM WAN variant replacement requested by DCC)"
    Then a DCC alert DeviceStatusChangeEvent CHFDecommissioning arrives for the CHF
    And the CHF's SMI status is "Decommissioned"
    Given the DCC has delivered a new Communications Hub, CHF "00-DB-12-34-56-78-92-A2" with GPF "00-DB-12-34-56-78-92-A3", for the premises
    When the Import Supplier reports the CHF installed with SM WAN
    And the Import Supplier adds the ESME to the CHF device log with its install code
    Then a response I0 arrives
    When the installer powers up the ESME near the CHF
    Then device alert 8183 arrives from the CHF
    And the old CHF's SMI status is "Decommissioned"

  @srv-11.2 @srv-8.13 @srv-8.14.2 @role-IS @cv-1 @cv-2 @cv-8 @conf-I
  Scenario: A command delivered locally while there is no SM WAN completes through SRV 8.13
    When the Import Supplier reports the CHF installed without SM WAN
    And the Import Supplier sends SRV 11.2 to the CHF
    Then a response E20 arrives
    When the Import Supplier sends SRV 11.2 to the CHF for local delivery
    Then the response is I0 with LocalCommand
    When the installer delivers the command over the HAN and the Import Supplier returns the device's response with SRV 8.13
    Then a response I0 arrives
    And the response reports a firmware_version
