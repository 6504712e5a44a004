@uept
Feature: Requests a User may not make are refused with their DUIS response code
  The DCC checks every request in a fixed order before anything reaches a device: the signature and the
  originator counter, the service and CommandVariant, the User's role, then the device. Each refusal is
  synchronous and names the first check that failed.

  @clause-duis-check-signature
  @srv-4.1.1 @role-IS @cv-1 @conf-I
  Scenario: An unsigned request is refused
    Given a commissioned ESME
    When the Import Supplier sends SRV 4.1.1 to the ESME unsigned
    Then the request is rejected with E1
    And no further message arrives within the quiet time

  @clause-duis-check-signature
  @srv-4.1.1 @role-IS @cv-1 @conf-I
  Scenario: A request signed with another User's key is refused
    Given a commissioned ESME
    When the Import Supplier sends SRV 4.1.1 to the ESME signed with the key of the Electricity Distributor
    Then the request is rejected with E1

  @clause-duis-check-counter
  @srv-4.1.1 @role-IS @cv-1 @conf-U
  Scenario: A replayed originator counter is refused (E1 for a replay is best known, unverified)
    Given a commissioned ESME
    When the Import Supplier sends SRV 4.1.1 to the ESME
    And the Import Supplier sends SRV 4.1.1 to the ESME again with the same counter
    Then the request is rejected with E1

  @clause-duis-check-role
  @conf-V @cv-1 @cv-4
  Scenario Outline: A User whose roles are not eligible for the SRV is refused
    Given a commissioned <device>
    When the <role> sends SRV <srv> to the <device>
    Then the request is rejected with E2
    And no further message arrives within the quiet time

    @srv-8.1.1 @role-ED
    Examples: commissioning is for suppliers
      | role                    | srv   | device |
      | Electricity Distributor | 8.1.1 | ESME   |

    @srv-7.1 @role-ED
    Examples: supply control is for the import supplier
      | role                    | srv | device |
      | Electricity Distributor | 7.1 | ESME   |

    @srv-1.1.1 @role-OU
    Examples: tariffs are for suppliers
      | role       | srv   | device |
      | Other User | 1.1.1 | ESME   |

    @srv-1.6 @role-ED
    Examples: the payment mode is the supplier's
      | role                    | srv | device |
      | Electricity Distributor | 1.6 | ESME   |

  @clause-duis-check-device_exists
  @srv-4.1.1 @role-IS @cv-1 @conf-V
  Scenario: A request to a device the DCC does not know is refused
    When the Import Supplier sends SRV 4.1.1 to the device "00-DB-12-34-56-78-99-99"
    Then the request is rejected with E19

  @clause-duis-check-command_variant
  @srv-8.1.1 @role-IS @cv-1 @conf-V
  Scenario: A critical SRV sent as a non-critical CommandVariant is refused
    Given a commissioned ESME
    When the Import Supplier sends SRV 8.1.1 to the ESME as CommandVariant 1
    Then the request is rejected with E12

  @clause-duis-check-url
  @srv-4.1.1 @role-IS @cv-1 @conf-V
  Scenario: A request posted to the wrong DUIS service is refused
    Given a commissioned ESME
    When the Import Supplier sends SRV 4.1.1 to the ESME to serviceT
    Then the request is rejected with E13

  @clause-duis-check-schema
  @srv-4.1.1 @role-IS @cv-1 @conf-U
  Scenario: A request that breaks the DUIS schema is refused (E100 is best known, unverified)
    Given a commissioned ESME
    When the Import Supplier sends SRV 4.1.1 to the ESME with an element the schema does not allow
    Then the request is rejected with E100
