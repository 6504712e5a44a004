@uept @conf-V
@clause-ctsd-4 @clause-duis-signing
Feature: Prepare signed, schema-valid service requests before any traffic
  Before a DCC User sends anything, it must be able to build each service request it claims as a DUIS
  message that validates against the DUIS schema and carries an XML signature in the profile DCC's
  own validator accepts, made with the key of the User named in the RequestID.

  Background:
    Given the Import Supplier "90-B3-D5-1F-30-01-00-00"

  @role-IS
  Scenario Outline: The Import Supplier prepares SRV <srv> for <device>
    When the Import Supplier prepares SRV <srv> for <device>
    Then the request is valid against the DUIS schema
    And its signature verifies with the Import Supplier's certificate
    And its RequestID names the Import Supplier and <device>

    @srv-4.1.1 @cv-1
    Examples: a read
      | srv   | device  |
      | 4.1.1 | the ESME |

    @srv-8.11 @cv-1
    Examples: a change to the CHF device log
      | srv  | device  |
      | 8.11 | the CHF |

    @srv-8.1.1 @cv-4
    Examples: a critical command
      | srv   | device   |
      | 8.1.1 | the ESME |

    @srv-11.3 @cv-4
    Examples: a firmware activation
      | srv  | device   |
      | 11.3 | the ESME |

  @srv-8.11 @role-IS @cv-1
  Scenario: A request changed after signing is refused by the signature check
    When the Import Supplier prepares SRV 8.11 for the CHF
    And the signed request is changed after signing
    Then the signature check refuses it because "changed after signing"

  @srv-8.11 @role-IS
  Scenario: A value outside the DUIS schema is caught before signing
    When the Import Supplier prepares SRV 8.11 with RequestType "Append"
    Then preparing it fails naming "RequestType"
