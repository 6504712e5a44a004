@user-system @uept @conf-U
Feature: The User's originator counters keep rising after its system restarts
  The DCC refuses a request whose originator counter is not above the last one it accepted from that
  originator, and it never forgets them: a restart of the User's system must not start them again.

  @srv-4.1.1 @role-IS @cv-1
  Scenario: The Import Supplier's system keeps its counters rising across a restart
    Given the user's system is connected to the emulated DCC
    When the Import Supplier's system is asked to send SRV 4.1.1 to the ESME
    Then the DCC received it as asked, every rule kept
    When the user's system is restarted
    And the Import Supplier's system is asked to send SRV 4.1.1 to the ESME
    Then its originator counters rose above every counter it used before the restart
