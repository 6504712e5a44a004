@user-system @uept @conf-I
Feature: The User's Receive Response Service takes what the DCC sends and refuses forgeries
  The DCC POSTs responses and alerts to the User's Receive Response Service. Messages signed by the DCC,
  valid against the DUIS schema and new must be accepted (2xx); a broken signature, a certificate the
  DCC does not hold, a schema-invalid message, a replay or a duplicate must be refused (4xx).

  @srv-4.1.1 @role-IS
  Scenario: The Import Supplier's system accepts a device alert from the ESME
    Given the user's system is connected to the emulated DCC
    When the DCC sends device alert 8F35 from the ESME to the Import Supplier
    Then the user's system accepts it

  @srv-4.1.1 @role-IS
  Scenario Outline: The Import Supplier's system refuses a response that is <how>
    Given the user's system is connected to the emulated DCC
    When the Import Supplier's system is asked to send SRV 4.1.1 to the ESME
    Then the user's system accepted the DCC's response
    When the DCC's response is delivered again, <how>
    Then the user's system refuses it

    Examples:
      | how                 |
      | signature broken    |
      | unknown certificate |
      | schema-invalid      |
      | replayed            |
      | duplicated          |
