@uept @conf-I
Feature: A User's signed service requests are accepted, answered and refused as DUIS says
  A DCC User sends signed service requests to the DCC: device requests are acknowledged at once and
  answered later at the User's Receive Response Service; critical commands go through the transform
  and the User's signed pre-command; requests the User may not make are refused with their DUIS code.

  @srv-4.1.1 @role-IS @cv-1
  Scenario: A signed read is acknowledged, then answered asynchronously
    When the Import Supplier sends SRV 4.1.1 to the ESME
    Then the acknowledgement is I99
    And a response I0 arrives within the on-demand timeout

  @srv-8.1.1 @role-IS @cv-4 @cv-5
  Scenario: A critical command goes through the transform and the signed pre-command
    When the Import Supplier sends SRV 8.1.1 to the ESME
    Then the acknowledgement is I99
    And a response I0 arrives within the on-demand timeout

  @srv-8.11 @role-IS @cv-1
  Scenario: Adding a device to the CHF device log raises DCC alert N24
    When the Import Supplier sends SRV 8.11 to the CHF with DeviceID "00-DB-12-34-56-78-90-C1"
    Then the acknowledgement is I99
    And a response I0 arrives within the on-demand timeout
    And DCC alert N24 arrives for that request
    And device alert 8F12 arrives from the CHF

  @srv-8.2 @role-IS @cv-8
  Scenario: Read Inventory answers synchronously with the DCC's inventory
    When the Import Supplier sends SRV 8.2 to the DCC for the ESME
    Then the response is I0 with DSPInventory

  @srv-8.1.1 @role-ED @cv-4
  Scenario: A network operator cannot commission a meter
    When the Electricity Distributor sends SRV 8.1.1 to the ESME
    Then the request is rejected with E2

  @srv-4.1.1 @role-IS @cv-1
  Scenario: A read of a device the DCC does not know is refused
    When the Import Supplier sends SRV 4.1.1 to the device "00-DB-12-34-56-78-99-99"
    Then the request is rejected with E19
