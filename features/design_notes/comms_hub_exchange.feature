@dn-comms-hub-exchange
Feature: Exchange a Communications Hub while the meters stay
  As a supplier replacing a faulty (or wrong-variant) Communications Hub, I install the new hub as a
  replacement, restore the old CHF's HAN device log and the old GPF's device log onto the new hub, take
  over the new GPF, check the devices through the new hub and return the old one
  (design-notes.md §4.5; restores are GBCS CCS03 / GCS59, their alerts 8F12 / 8071 and the DCC alert
  DeviceLogRestored; the DCC alert codes for DeviceLogRestored and CHFDecommissioning are not public, so
  the steps recognise those alerts by their payload).

  Background:
    Given a commissioned ESME, GSME, GPF and CHF
    And the DCC has delivered a new Communications Hub, CHF "00-DB-12-34-56-78-91-A2" with GPF "00-DB-12-34-56-78-91-A3", for the premises

  @srv-8.14.1 @srv-8.12.1 @srv-8.9 @role-IS @cv-8 @cv-1 @conf-I
  Scenario: The new CHF takes over the old CHF's device log
    When the Import Supplier reports the new CHF installed with SM WAN as a replacement
    And the Import Supplier restores the HAN device log of the old CHF onto the new CHF
    Then the acknowledgement is I99
    And a response I0 arrives
    And device alert 8F12 arrives from the CHF
    And a DCC alert DeviceLogRestored CHFDeviceLog arrives for the new CHF
    And the new CHF device log holds the ESME, GSME, PPMID and IHD restored from the old CHF
    And the new CHF device log does not list the old GPF

  @srv-8.14.1 @srv-8.12.1 @srv-8.12.2 @srv-8.9 @role-IS @role-GS @cv-8 @cv-1 @conf-I
  Scenario: The new GPF takes over the old GPF's device log and the gas meter moves to it
    When the Import Supplier reports the new CHF installed with SM WAN as a replacement
    And the Import Supplier restores the HAN device log of the old CHF onto the new CHF
    Then a response I0 arrives
    When the Gas Supplier restores the GPF device log of the old GPF onto the new GPF
    Then the acknowledgement is I99
    And a response I0 arrives
    And device alert 8071 arrives from the GPF
    And a DCC alert DeviceLogRestored GPFDeviceLog arrives for the new GPF
    And the new GPF device log lists the GSME

  @srv-8.14.1 @srv-8.12.1 @srv-8.12.2 @srv-6.21 @srv-11.2 @role-IS @role-GS @cv-8 @cv-1 @conf-I
  Scenario: The Gas Supplier takes over the new DCC-controlled GPF and reaches the gas meter through it
    When the Import Supplier reports the new CHF installed with SM WAN as a replacement
    And the Import Supplier restores the HAN device log of the old CHF onto the new CHF
    Then a response I0 arrives
    When the Gas Supplier restores the GPF device log of the old GPF onto the new GPF
    Then a response I0 arrives
    When the Gas Supplier sends SRV 6.21 to the GPF with RemotePartyRole "Supplier"
    Then the acknowledgement is I99
    And a response I0 arrives
    When the Gas Supplier sends SRV 6.21 to the GPF with RemotePartyRole "NetworkOperator"
    Then a response I0 arrives
    When the Gas Supplier sends SRV 11.2 to the GSME
    Then a response I0 arrives

  @srv-8.9 @srv-8.12.1 @srv-8.14.1 @srv-11.2 @role-GS @role-IS @cv-1 @cv-8 @conf-I
  Scenario: After the exchange the meters are checked through the new hub with 8.9 and 11.2
    When the Import Supplier reports the new CHF installed with SM WAN as a replacement
    And the Import Supplier restores the HAN device log of the old CHF onto the new CHF
    Then a response I0 arrives
    And the new CHF device log lists the ESME
    And the new CHF device log lists the new GPF
    When the Import Supplier sends SRV 11.2 to the CHF
    Then a response I0 arrives
    When the Import Supplier sends SRV 11.2 to the ESME
    Then a response I0 arrives
    When the Gas Supplier sends SRV 11.2 to the GSME
    Then a response I0 arrives

  @srv-8.2 @srv-8.12.1 @srv-8.14.1 @srv-8.14.3 @srv-11.2 @role-IS @cv-1 @cv-8 @conf-I
  Scenario: The faulty old hub is returned and decommissioned while the ESME stays reachable
    When the Import Supplier reports the new CHF installed with SM WAN as a replacement
    And the Import Supplier restores the HAN device log of the old CHF onto the new CHF
    Then a response I0 arrives
    When the Import Supplier returns the old CHF with a fault as "Fault identified post installation"
    Then a DCC alert DeviceStatusChangeEvent CHFDecommissioning arrives for the old CHF
    And the old CHF's SMI status is "Decommissioned"
    And the old GPF's SMI status is "Decommissioned"
    When the Import Supplier sends SRV 11.2 to the ESME
    Then a response I0 arrives

  @srv-8.2 @srv-8.14.4 @srv-11.2 @role-IS @cv-1 @cv-8 @conf-U
  Scenario: A hub returned before it was installed is withdrawn without a DCC alert (best known, unverified)
    When the Import Supplier returns the new CHF without a fault as "No Fault Return (general)"
    Then the new CHF's SMI status is "Withdrawn"
    And the new GPF's SMI status is "Withdrawn"
    And no further message arrives within the quiet time
    When the Import Supplier sends SRV 11.2 to the device "00-DB-12-34-56-78-90-A0"
    Then a response I0 arrives

  @srv-8.9 @srv-8.12.1 @srv-8.14.1 @srv-8.14.2 @role-IS @cv-1 @cv-8 @conf-I
  Scenario: A restore sent before the new hub has SM WAN fails and succeeds once the WAN arrives
    When the Import Supplier reports the new CHF installed without SM WAN
    And the Import Supplier restores the HAN device log of the old CHF onto the new CHF
    Then the request fails because the hub has no SM WAN
    When the Import Supplier reports the new CHF installed with SM WAN as a replacement
    And the Import Supplier restores the HAN device log of the old CHF onto the new CHF
    Then a response I0 arrives
    And a DCC alert DeviceLogRestored CHFDeviceLog arrives for the new CHF
    And the new CHF device log holds the ESME and GSME restored from the old CHF
