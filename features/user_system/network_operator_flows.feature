@user-system @uept
Feature: The User's system as the network operator in the design-note flows
  The party's system plays the network operator (Electricity Distributor, Gas Transporter); the emulated
  DCC plays everything else, including the supplier, whose requests go through the same DCC with the
  reference test supplier's keys. In §4.1 Install and Commission the supplier commissions the ESME and
  the DCC tells the other parties with a DeviceStatusChangeEvent carrying the meter's identity (MPxNs):
  the network operator's Receive Response Service must take it and refuse a forgery of it. In §4.8
  Firmware Management every role may read the firmware version with SRV 11.2; in §4.9 Auxiliary Load
  Control Switches the network operator verifies the switches with SRV 7.7. (The alert's recipients and
  its code, N12, are best known, unverified: those scenarios are tagged @conf-U.)

  @dn-install-commission @role-ED @conf-U
  Scenario: The Electricity Distributor's system takes the DCC alert telling it the ESME was commissioned (design notes §4.1 step 7)
    Given the user's system is connected to the emulated DCC
    When the ESME's supplier commissions it with SRV 8.1.1
    Then the user's system accepted DCC alert N12 for that request

  @dn-install-commission @role-ED @conf-U
  Scenario: The Electricity Distributor's system refuses a forged commissioning alert (design notes §4.1 step 7)
    Given the user's system is connected to the emulated DCC
    When the ESME's supplier commissions it with SRV 8.1.1
    Then the user's system accepted DCC alert N12 for that request
    When the DCC's alert is delivered again, unknown certificate
    Then the user's system refuses it

  @dn-firmware @srv-11.2 @role-ED @cv-1 @conf-I
  Scenario: The Electricity Distributor's system reads the ESME's firmware version (design notes §4.8 step 1)
    Given the user's system is connected to the emulated DCC
    When the Electricity Distributor's system is asked to send SRV 11.2 to the ESME
    Then the DCC received it as asked, every rule kept
    And the user's system accepted the DCC's response

  @dn-alcs @srv-7.7 @role-ED @cv-1 @conf-I
  Scenario: The Electricity Distributor's system verifies the ESME's auxiliary load control switches (design notes §4.9 step 7)
    Given the user's system is connected to the emulated DCC
    When the Electricity Distributor's system is asked to send SRV 7.7 to the ESME
    Then the DCC received it as asked, every rule kept
    And the user's system accepted the DCC's response

  @dn-install-commission @srv-8.2 @role-GT @cv-8 @conf-I
  Scenario: The Gas Transporter's system reads the DCC's inventory for the GSME (design notes §4.1 step 1)
    Given the user's system is connected to the emulated DCC
    When the Gas Transporter's system is asked to send SRV 8.2 to the DCC for the GSME
    Then the DCC received it as asked, every rule kept
