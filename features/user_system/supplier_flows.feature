@user-system @uept
Feature: The User's system as the supplier in the design-note flows
  The party's system plays the supplier of a design-note flow; the emulated DCC plays everything else (the
  registration data, the devices, the other parties) and judges each request the system sends, and what
  the flow did. The steps are the design notes' own: §4.1 Install and Commission, where the supplier adds
  the pre-notified meter to the CHF device log with its install code (SRV 8.11), the installer powers it
  up, and the supplier commissions it (SRV 8.1.1, critical); §4.3 Change of Supplier, where the gaining
  supplier discovers the devices with SRV 8.2 and replaces the supplier credentials on the meter with
  SRV 6.23; §4.4 Prepayment, where the supplier tops the meter up with SRV 2.2 and a UTRN it makes with its
  own prepayment key; §4.8 Firmware Management, where the supplier distributes an image with SRV 11.1 and
  activates it by its hash with SRV 11.3 (critical); and §4.9 Auxiliary Load Control Switches, where the
  supplier describes a switch (SRV 6.14.1, critical) and reads the switches back (SRV 7.7); §4.7 Time
  Management, where the supplier synchronises a drifted meter clock (SRV 6.11, critical) and the meter
  answers 8145 adjusted, 81C6 outside the tolerance or 8F0C a step too large; and §4.5 Communications Hub
  Exchange, where the supplier reports the new hub installed as a replacement (SRV 8.14.1), restores the old
  CHF's and the old GPF's device logs onto it (SRV 8.12.1, 8.12.2), takes over the new GPF (SRV 6.21) and
  returns the old hub (SRV 8.14.3 Fault Return, or 8.14.4 No Fault Return). (The flows' SRVs and bodies are
  verified; the DCC alert codes the DCC sends with them, other than N24, are best known, unverified: such
  scenarios are tagged @conf-U. The DeviceLogRestored alert is recognised by its payload, its code not
  being public.)

  @dn-install-commission @srv-8.11 @srv-8.1.1 @role-IS @cv-1 @cv-4 @cv-5 @conf-I
  Scenario: The Import Supplier's system whitelists and commissions a new ESME (design notes §4.1 steps 4–7)
    Given the user's system is connected to the emulated DCC
    And a new ESME "00-DB-12-34-56-78-91-A0" is pre-notified, the Import Supplier's organisation its supplier
    When the Import Supplier's system is asked to add the new ESME to the CHF device log with its install code
    Then the DCC received it as asked, every rule kept
    And the user's system accepted the DCC's response
    And the user's system accepted DCC alert N24 for that request
    And the emulated DCC shows the new ESME as "Whitelisted"
    When the new ESME is powered up near the CHF by the installer
    Then the emulated DCC shows the new ESME as "Installed Not Commissioned"
    When the Import Supplier's system is asked to commission the new ESME
    Then it went through the transform and the signed pre-command
    And the user's system accepted the DCC's response
    And the emulated DCC shows the new ESME as "Commissioned"

  @dn-change-of-supplier @srv-8.2 @srv-6.23 @role-IS @cv-8 @cv-1 @conf-U
  Scenario: The Import Supplier's system, as the gaining supplier, takes over the ESME (design notes §4.3)
    Given the user's system is connected to the emulated DCC
    And the registration data shows the Import Supplier's organisation as the gaining supplier for the ESME from the supply start date
    When the Import Supplier's system is asked to send SRV 8.2 to the DCC for the ESME
    Then the DCC received it as asked, every rule kept
    When the Import Supplier's system is asked to send SRV 6.23 to the ESME
    Then the DCC received it as asked, every rule kept
    And the user's system accepted the DCC's response
    And the user's system accepted DCC alert N16 for that request
    And the emulated DCC registers the Import Supplier's organisation as the ESME's supplier

  @dn-change-of-supplier @srv-6.23 @role-IS @cv-1 @conf-I
  Scenario: The Import Supplier's system future-dates the change of supplier to the supply start date, then cancels it (design notes §4.3)
    Given the user's system is connected to the emulated DCC
    And the registration data shows the Import Supplier's organisation as the gaining supplier for the ESME from the supply start date
    When the Import Supplier's system is asked to send SRV 6.23 to the ESME to execute in 2 days
    Then the DCC received it as asked, every rule kept
    When the Import Supplier's system is asked to cancel the future-dated SRV 6.23 for the ESME
    Then the DCC received it as asked, every rule kept
    And the user's system accepted the DCC's response

  @dn-firmware @srv-11.1 @srv-11.3 @role-IS @cv-8 @cv-4 @cv-5 @conf-U
  Scenario: The Import Supplier's system distributes firmware to the ESME and activates it (design notes §4.8)
    Given the user's system is connected to the emulated DCC
    When the Import Supplier's system is asked to distribute firmware "2.0.0" to the ESME
    Then the DCC received it as asked, every rule kept
    And the user's system accepted DCC alert N60 for that request
    When the Import Supplier's system is asked to activate firmware "2.0.0" on the ESME
    Then it went through the transform and the signed pre-command
    And the user's system accepted the DCC's response
    And the emulated ESME runs firmware "2.0.0"

  @dn-prepayment-cos @srv-2.2 @role-IS @cv-1 @conf-I
  Scenario: The Import Supplier's system tops up the ESME with UTRNs of its own (design notes §4.4 step 5)
    Given the user's system is connected to the emulated DCC
    When the Import Supplier's system is asked to top up the ESME with a UTRN for 500 pence
    Then the DCC received it as asked, every rule kept
    And the user's system accepted the DCC's response
    And the emulated ESME credits 500 pence from the UTRN
    When the Import Supplier's system is asked to top up the ESME with a UTRN for 300 pence
    Then the DCC received it as asked, every rule kept
    And the user's system accepted the DCC's response
    And the emulated ESME credits 300 pence from the UTRN
    And the emulated ESME's meter balance is 800 pence

  @dn-alcs @srv-6.14.1 @srv-7.7 @role-IS @cv-4 @cv-5 @cv-1 @conf-I
  Scenario: The Import Supplier's system describes an auxiliary load control switch and reads the switches back (design notes §4.9 steps 3 and 7)
    Given the user's system is connected to the emulated DCC
    When the Import Supplier's system is asked to send SRV 6.14.1 to the ESME with SwitchDescription "immersion heater"
    Then it went through the transform and the signed pre-command
    And the user's system accepted the DCC's response
    And the emulated ESME holds the switch description "immersion heater"
    When the Import Supplier's system is asked to send SRV 7.7 to the ESME
    Then the DCC received it as asked, every rule kept
    And the user's system accepted the DCC's response

  @dn-time-management @srv-6.11 @role-IS @cv-4 @cv-5 @conf-I
  Scenario: The Import Supplier's system synchronises the ESME's drifted clock within tolerance (design notes §4.7 step 1)
    Given the user's system is connected to the emulated DCC
    And the emulated ESME's clock has drifted 8 seconds ahead
    When the Import Supplier's system is asked to synchronise the ESME's clock with a tolerance of 60 seconds
    Then it went through the transform and the signed pre-command
    And the user's system accepted the DCC's response
    And the user's system accepted device alert 8145 from the ESME for that request
    And the emulated ESME's clock is within 2 seconds of the DCC's time

  @dn-time-management @srv-6.11 @role-IS @cv-4 @cv-5 @conf-I
  Scenario: The Import Supplier's system sends a stale time, and the ESME leaves its clock alone (design notes §4.7 step 2)
    Given the user's system is connected to the emulated DCC
    And the emulated ESME's clock has drifted 5 seconds behind
    When the Import Supplier's system is asked to synchronise the ESME's clock with a tolerance of 60 seconds using a time 5 minutes old
    Then it went through the transform and the signed pre-command
    And the user's system accepted the DCC's response
    And the user's system accepted device alert 81C6 from the ESME for that request
    And the emulated ESME's clock is still 5 seconds behind the DCC's time

  @dn-time-management @srv-6.11 @role-IS @cv-4 @cv-5 @conf-I
  Scenario: The Import Supplier's system cannot step the ESME's clock by more than ten seconds (design notes §4.7)
    Given the user's system is connected to the emulated DCC
    And the emulated ESME's clock has drifted 40 seconds ahead
    When the Import Supplier's system is asked to synchronise the ESME's clock with a tolerance of 60 seconds
    Then it went through the transform and the signed pre-command
    And the user's system accepted the DCC's response
    And the user's system accepted device alert 8F0C from the ESME for that request
    And the emulated ESME's clock is still 40 seconds ahead of the DCC's time

  @dn-comms-hub-exchange @srv-8.14.1 @srv-8.12.1 @srv-8.12.2 @srv-6.21 @srv-8.14.3 @role-IS @role-GS @cv-8 @cv-1 @conf-I
  Scenario: The supplier's system exchanges the Communications Hub while the meters stay (design notes §4.5)
    Given the user's system is connected to the emulated DCC
    And the DCC has handed over a new Communications Hub for the exchange, CHF "00-DB-12-34-56-78-91-A2" with GPF "00-DB-12-34-56-78-91-A3"
    When the Import Supplier's system is asked to report the new CHF installed with SM WAN as a replacement
    Then the DCC received it as asked, every rule kept
    And the DCC answered it I0 at once
    When the Import Supplier's system is asked to restore the HAN device log of the old CHF onto the new CHF
    Then the DCC received it as asked, every rule kept
    And the user's system accepted the DCC's response
    And the user's system accepted device alert 8F12 from the new CHF for that request
    And the user's system accepted DCC alert DeviceLogRestored CHFDeviceLog for that request
    And the emulated new CHF's device log lists the ESME and GSME
    When the Gas Supplier's system is asked to restore the GPF device log of the old GPF onto the new GPF
    Then the DCC received it as asked, every rule kept
    And the user's system accepted the DCC's response
    And the user's system accepted device alert 8071 from the new GPF for that request
    And the user's system accepted DCC alert DeviceLogRestored GPFDeviceLog for that request
    And the emulated new GPF's device log lists the GSME
    When the Gas Supplier's system is asked to send SRV 6.21 to the new GPF with RemotePartyRole "Supplier"
    Then the DCC received it as asked, every rule kept
    And the user's system accepted the DCC's response
    When the Import Supplier's system is asked to return the old CHF with a fault as "Fault identified post installation"
    Then the DCC received it as asked, every rule kept
    And the DCC answered it I0 at once
    And the emulated DCC shows the old CHF as "Decommissioned"

  @dn-comms-hub-exchange @srv-8.14.4 @role-IS @cv-8 @conf-U
  Scenario: The supplier's system returns a hub it never installed without a fault (design notes §4.5 step 7, best known, unverified)
    Given the user's system is connected to the emulated DCC
    And the DCC has handed over a new Communications Hub for the exchange, CHF "00-DB-12-34-56-78-91-A2" with GPF "00-DB-12-34-56-78-91-A3"
    When the Import Supplier's system is asked to return the new CHF without a fault as "No Fault Return (general)"
    Then the DCC received it as asked, every rule kept
    And the DCC answered it I0 at once
    And the emulated DCC shows the new CHF as "Withdrawn"
