@user-system @uept @conf-V
Feature: The User's system sends the service requests its declaration claims, as DUIS says
  In user-entry process testing the party's own system is the system under test: the DCC it talks to is
  the embedded emulator, which answers as the DCC does and judges every request the system sends —
  schema, the DCC's signature profile with the party's certificate, RequestID and originator counter,
  CommandVariant for the SRV and the service, role eligibility, and that it is the request asked for.

  @srv-4.1.1 @role-IS @cv-1
  Scenario: The Import Supplier's system reads the ESME's import register
    Given the user's system is connected to the emulated DCC
    When the Import Supplier's system is asked to send SRV 4.1.1 to the ESME
    Then the DCC received it as asked, every rule kept
    And the user's system accepted the DCC's response

  @srv-4.3 @role-IS @cv-1
  Scenario: The Import Supplier's system reads the ESME's prepayment configuration
    Given the user's system is connected to the emulated DCC
    When the Import Supplier's system is asked to send SRV 4.3 to the ESME
    Then the DCC received it as asked, every rule kept
    And the user's system accepted the DCC's response

  @srv-8.2 @role-IS @cv-8
  Scenario: The Import Supplier's system reads the DCC's inventory
    Given the user's system is connected to the emulated DCC
    When the Import Supplier's system is asked to send SRV 8.2 to the DCC for the ESME
    Then the DCC received it as asked, every rule kept
