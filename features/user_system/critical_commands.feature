@user-system @uept @conf-V
Feature: The User's system sends critical commands through the transform and its signed pre-command
  A critical SRV goes as CommandVariant 4 to the transform service; the DCC returns the pre-command,
  which the User signs with its GBCS digital-signature key (never its XML key) and sends back unchanged
  as CommandVariant 5 with the same RequestID. A critical SRV sent as CommandVariant 1, or a pre-command
  other than the one returned, is refused.

  @srv-8.1.1 @role-IS @cv-4 @cv-5
  Scenario: The Import Supplier's system commissions the ESME with a critical command
    Given the user's system is connected to the emulated DCC
    When the Import Supplier's system is asked to send SRV 8.1.1 to the ESME
    Then it went through the transform and the signed pre-command
    And the user's system accepted the DCC's response
