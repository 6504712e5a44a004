@user-system @uept @conf-V
Feature: The User's system sends future-dated requests and cancels them
  A future-dated request carries the ExecutionDateTime it was asked for; it is cancelled by sending the
  same SRV to the same device with ExecutionDateTime 3000-12-31T00:00:00Z.

  @srv-1.1.1 @role-IS @cv-4 @cv-5
  Scenario: The Import Supplier's system sends a tariff to execute in two days
    Given the user's system is connected to the emulated DCC
    When the Import Supplier's system is asked to send SRV 1.1.1 to the ESME to execute in 2 days
    Then the DCC received it as asked, every rule kept
    And the user's system accepted the DCC's response

  @srv-1.1.1 @role-IS @cv-4 @cv-5
  Scenario: The Import Supplier's system cancels a future-dated tariff
    Given the user's system is connected to the emulated DCC
    When the Import Supplier's system is asked to send SRV 1.1.1 to the ESME to execute in 2 days
    Then the DCC received it as asked, every rule kept
    When the Import Supplier's system is asked to cancel the future-dated SRV 1.1.1 for the ESME
    Then the DCC received it as asked, every rule kept
    And the user's system accepted the DCC's response
