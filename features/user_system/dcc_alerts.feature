@user-system @uept
Feature: The User's Receive Response Service takes the DCC's own alerts and refuses forged ones
  Besides responses and device alerts, the DCC sends alerts of its own (a DCCAlertMessage with a DCC alert
  code and payload: N24 with the result of an Update HAN Device Log, a change of supplier, a firmware
  delivery …), signed by the DCC as its responses are and POSTed to the same Receive Response Service.
  A valid one must be accepted (2xx); one with a broken signature, signed by a certificate the DCC does
  not hold, schema-invalid, replayed or duplicated must be refused (4xx). DCC alerts may come more than
  once (design notes §3.4): a system must take each once, and refuse the copy.

  @srv-8.11 @role-IS @cv-1 @conf-V
  Scenario: The Import Supplier's system takes DCC alert N24 after it updates the CHF's device log
    Given the user's system is connected to the emulated DCC
    When the Import Supplier's system is asked to send SRV 8.11 to the CHF
    Then the DCC received it as asked, every rule kept
    And the user's system accepted the DCC's response
    And the user's system accepted DCC alert N24 for that request

  @srv-8.11 @role-IS @cv-1 @conf-V
  Scenario Outline: The Import Supplier's system refuses a DCC alert that is <how>
    Given the user's system is connected to the emulated DCC
    When the Import Supplier's system is asked to send SRV 8.11 to the CHF
    Then the user's system accepted DCC alert N24 for that request
    When the DCC's alert is delivered again, <how>
    Then the user's system refuses it

    Examples:
      | how                 |
      | signature broken    |
      | unknown certificate |
      | schema-invalid      |
      | replayed            |
      | duplicated          |
