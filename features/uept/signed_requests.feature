@uept @conf-I
Feature: A User's signed service requests are accepted, answered and refused as DUIS says
  A DCC User sends signed service requests to the DCC: device requests are acknowledged at once and
  answered later at the User's Receive Response Service; critical commands go through the transform
  and the User's signed pre-command; requests the User may not make are refused with their DUIS code.

  @clause-duis-acknowledge-then-respond
  @srv-4.1.1 @role-IS @cv-1
  Scenario: A signed read is acknowledged, then answered asynchronously
    Given a commissioned ESME and CHF
    When the Import Supplier sends SRV 4.1.1 to the ESME
    Then the acknowledgement is I99
    And a response I0 arrives within the on-demand timeout
    And no further message arrives within the quiet time

  @clause-duis-acknowledge-then-respond
  @srv-4.1.1 @srv-4.3 @role-IS @cv-1
  Scenario: Each asynchronous response reaches the request it answers
    Given a commissioned ESME and CHF
    When the Import Supplier sends SRV 4.1.1 to the ESME
    And the Import Supplier sends SRV 4.3 to the ESME
    Then a response I0 arrives for the second request
    And the GBCS payload answers the second request
    And a response I0 arrives for the first request
    And the GBCS payload answers the first request
    And no further message arrives within the quiet time

  @srv-8.1.1 @role-IS @cv-4 @cv-5
  Scenario: A critical command goes through the transform and the signed pre-command
    Given a commissioned ESME and CHF
    When the Import Supplier sends SRV 8.1.1 to the ESME as a critical request
    Then the acknowledgement is I99
    And a response I0 arrives within the on-demand timeout

  @clause-duis-dcc-alerts @clause-ctsd-8.2.9.3
  @srv-8.11 @role-IS @cv-1
  Scenario: Adding a device to the CHF device log raises a device alert and DCC alert N24
    Given a commissioned CHF
    When the Import Supplier sends SRV 8.11 to the CHF with DeviceID "00-DB-12-34-56-78-90-C1"
    Then the acknowledgement is I99
    And a response I0 arrives within the on-demand timeout
    And DCC alert N24 arrives for that request
    And device alert 8F12 arrives from the CHF

  @srv-8.2 @role-IS @cv-8
  Scenario: Read Inventory answers synchronously with the DCC's inventory
    When the Import Supplier sends SRV 8.2 to the DCC for the ESME
    Then the response is I0 with DSPInventory
    And the ESME's SMI status is "Commissioned"

  @clause-duis-future-dated
  @srv-1.1.1 @role-IS @cv-1
  Scenario: A future-dated tariff is answered at once and actioned at its execution date-time, not before
    Given a commissioned ESME and CHF
    When the Import Supplier sends SRV 1.1.1 to the ESME to execute in 2 days
    Then the acknowledgement is I99
    And a response I0 arrives within the on-demand timeout
    And nothing the future-dated request causes arrives before its execution date-time
    When the execution date-time passes
    Then a future-dated alert 8F66 arrives for that request

  @clause-duis-future-dated
  @srv-1.1.1 @role-IS @cv-1
  Scenario: A cancelled future-dated tariff is not actioned when its execution date-time passes
    Given a commissioned ESME and CHF
    When the Import Supplier sends SRV 1.1.1 to the ESME to execute in 2 days
    Then a response I0 arrives within the on-demand timeout
    When the Import Supplier cancels the future-dated SRV 1.1.1 for the ESME
    Then the acknowledgement is I99
    And a response I0 arrives within the on-demand timeout
    And the GBCS payload answers that request
    When 3 days pass
    Then no further message arrives within the quiet time
