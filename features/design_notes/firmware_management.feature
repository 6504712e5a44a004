@dn-firmware
Feature: Firmware Management: distribute, activate and confirm device firmware
  As a Supplier I read the firmware version my meters run, distribute a new image to several devices
  through the DCC with SRV 11.1, activate it on each device by its hash with SRV 11.3 (at once or at a
  future date-time, which I may cancel) and confirm with SRV 11.2 that the device runs the new version.
  A PPMID takes its image and runs it in one step with SRV 11.4; an HCALCS uses 11.1 and 11.3 like a meter.
  (Design notes §4.8; the DCC alerts per meter type and the split of rejected devices into the
  warning's lists are best known, unverified, and tagged @conf-U.)

  Background:
    Given a commissioned ESME, GSME, GPF and CHF

  @srv-11.2 @role-IS @role-GS @role-ED @role-OU @cv-1 @conf-V
  Scenario: Suppliers, the network operator and other users read the same baseline firmware version before an update
    When the Import Supplier sends SRV 11.2 to the ESME
    Then the acknowledgement is I99
    And a response I0 arrives within the on-demand timeout
    And the response reports a firmware_version
    And the ESME's firmware version read by the Electricity Distributor is the same as before
    And the ESME's firmware version read by the Other User is the same as before
    And the GSME's firmware version read by the Gas Supplier is reported

  @srv-12.2 @srv-11.1 @srv-11.2 @role-IS @cv-8 @cv-1 @conf-U
  Scenario: Distribution to several devices names the unknown and uncommissioned ones in a warning (best known, unverified)
    When the Import Supplier sends SRV 12.2 to the DCC with DeviceID "00-DB-12-34-56-78-90-C0" and DeviceType "ESME"
    Then the response is I0
    When the Import Supplier distributes firmware "2.0.0" to the ESME, the GSME, the device "00-DB-12-34-56-78-99-99" and the device "00-DB-12-34-56-78-90-C0"
    Then the response is W110101 with DSPUpdateFirmwareWarning
    And the firmware warning lists the device "00-DB-12-34-56-78-99-99" as InvalidDeviceIDList
    And the firmware warning lists the device "00-DB-12-34-56-78-90-C0" as NotCommissionedDeviceIDList
    And 2 device alerts 8F72 arrive
    And the ESME's firmware version read by the Import Supplier is reported

  @srv-11.1 @role-IS @cv-8 @conf-U
  Scenario: Hub and proxy firmware is the DCC's to manage, not the Supplier's (best known, unverified)
    When the Import Supplier distributes firmware "2.0.0" to the ESME, the CHF and the GPF
    Then the response is W110101 with DSPUpdateFirmwareWarning
    And the firmware warning lists the CHF and the GPF as NotApplicableFirmwareDeviceIDList
    And device alert 8F72 arrives from the ESME
    And DCC alert N60 arrives for that request
    And no further message arrives within the quiet time

  @srv-11.1 @role-IS @cv-8 @conf-U
  Scenario: Each meter's delivery is confirmed by the device and by a DCC alert per meter type (best known, unverified)
    When the Import Supplier distributes firmware "2.0.0" to the ESME and the GSME
    Then the response is I0
    And device alert 8F72 arrives from the ESME
    And device alert 8F72 arrives from the GSME
    And DCC alert N60 reports the firmware delivery to the ESME as "Success"
    And DCC alert N61 reports the firmware delivery to the GSME as "Success"

  @srv-11.1 @srv-11.3 @srv-11.2 @role-IS @role-GS @cv-8 @cv-4 @cv-5 @cv-1 @conf-U
  Scenario: A GSME that cannot take the image is reported as a failed delivery and cannot activate it (best known, unverified)
    Given the GSME cannot take a firmware image over the HAN
    When the Import Supplier distributes firmware "2.0.0" to the ESME and the GSME
    Then the response is I0
    And device alert 8F72 arrives from the ESME
    And DCC alert N60 reports the firmware delivery to the ESME as "Success"
    And DCC alert N61 reports the firmware delivery to the GSME as "Failure"
    And the GSME's firmware version read by the Gas Supplier is reported
    When the Gas Supplier activates firmware "2.0.0" on the GSME
    Then the acknowledgement is I99
    And a response I0 arrives within the on-demand timeout
    And the device's response reports failure
    And the GSME's firmware version read by the Gas Supplier is the same as before

  @srv-11.1 @srv-11.3 @srv-11.2 @role-IS @role-OU @cv-8 @cv-4 @cv-5 @cv-1 @conf-I
  Scenario: An image activated at once becomes the version the meter runs
    When the Import Supplier distributes firmware "2.0.0" to the ESME
    Then the response is I0
    And device alert 8F72 arrives from the ESME
    And the ESME's firmware version read by the Import Supplier is reported
    When the Import Supplier activates firmware "2.0.0" on the ESME
    Then the acknowledgement is I99
    And a response I0 arrives within the on-demand timeout
    And the response reports firmware_activation 0
    And device alert 8F43 arrives from the ESME
    And the ESME's firmware version read by the Other User is "2.0.0"

  @srv-11.1 @srv-11.3 @srv-11.2 @role-GS @cv-8 @cv-4 @cv-5 @cv-1 @conf-I
  Scenario: A future-dated activation runs at its execution date-time, not before
    When the Gas Supplier distributes firmware "G2" to the GSME
    Then the response is I0
    And the GSME's firmware version read by the Gas Supplier is reported
    When the Gas Supplier activates firmware "G2" on the GSME to execute in 2 days
    Then the acknowledgement is I99
    And a response I0 arrives within the on-demand timeout
    And the GSME's firmware version read by the Gas Supplier is the same as before
    And nothing the future-dated request causes arrives before its execution date-time
    When the execution date-time passes
    Then a future-dated alert 8F66 arrives for that request
    And device alert 8F43 arrives from the GSME
    And the GSME's firmware version read by the Gas Supplier is "G2"

  @srv-11.1 @srv-11.3 @srv-11.2 @role-IS @cv-8 @cv-4 @cv-5 @cv-1 @conf-V
  Scenario: A cancelled future-dated activation does not run when its execution date-time passes
    When the Import Supplier distributes firmware "2.0.0" to the ESME
    Then the response is I0
    And device alert 8F72 arrives from the ESME
    And the ESME's firmware version read by the Import Supplier is reported
    When the Import Supplier activates firmware "2.0.0" on the ESME to execute in 2 days
    Then a response I0 arrives within the on-demand timeout
    When the Import Supplier cancels the future-dated SRV 11.3 for the ESME
    Then the acknowledgement is I99
    And a response I0 arrives within the on-demand timeout
    And the GBCS payload answers that request
    When 3 days pass
    Then the ESME reports no firmware activation within the quiet time
    And the ESME's firmware version read by the Import Supplier is the same as before

  @srv-11.1 @srv-11.3 @srv-11.2 @role-IS @cv-8 @cv-4 @cv-5 @cv-1 @conf-I
  Scenario: A hash that matches no distributed image is refused, at once or at the execution date-time
    When the Import Supplier distributes firmware "2.0.0" to the ESME
    Then the response is I0
    And the ESME's firmware version read by the Import Supplier is reported
    When the Import Supplier activates firmware "2.0.0" on the ESME with a hash that matches no distributed image
    Then the acknowledgement is I99
    And a response I0 arrives within the on-demand timeout
    And the device's response reports failure
    When the Import Supplier activates firmware "2.0.0" on the ESME with a hash that matches no distributed image to execute in 1 day
    Then a response I0 arrives within the on-demand timeout
    And nothing the future-dated request causes arrives before its execution date-time
    When the execution date-time passes
    Then a future-dated alert 8F67 arrives for that request
    And the ESME's firmware version read by the Import Supplier is the same as before

  @srv-11.4 @srv-11.2 @role-IS @cv-8 @cv-1 @conf-U
  Scenario: A PPMID takes and runs its image in one step, a meter in the list is not applicable (best known, unverified)
    When the Import Supplier distributes PPMID firmware "P2" to the PPMID and the ESME
    Then the response is W110401 with DSPUpdatePPMIDFirmwareWarning
    And the firmware warning lists the ESME as NotApplicableFirmwareDeviceIDList
    And the PPMID's firmware version read by the Import Supplier is "P2"
    And the ESME's firmware version read by the Import Supplier is reported

  @srv-11.1 @srv-11.3 @srv-11.2 @role-IS @cv-8 @cv-4 @cv-5 @cv-1 @conf-V
  Scenario: An HCALCS is updated like a meter, with 11.1 and 11.3
    When the Import Supplier distributes firmware "H2" to the HCALCS
    Then the response is I0
    And device alert 8F72 arrives from the HCALCS
    When the Import Supplier activates firmware "H2" on the HCALCS
    Then the acknowledgement is I99
    And a response I0 arrives within the on-demand timeout
    And device alert 8F43 arrives from the HCALCS
    And the HCALCS's firmware version read by the Import Supplier is "H2"
