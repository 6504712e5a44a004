@dn-prepayment-cos @srv-1.6 @cv-4 @cv-5
Feature: Prepayment Change of Supplier: a consumer in prepayment switches supplier
  A meter in prepayment mode may change supplier with credit on it, in debt, on emergency credit or with
  its supply disabled. The gaining supplier's SRV 6.23 also sets its top-up floor, so the losing
  supplier's UTRNs stop being valid and the gaining supplier's start; the gaining supplier then reads
  the balance, debt and prepayment configuration and either keeps the meter in prepayment (adjusting the
  balance, debt and configuration) or switches it to credit.
  (Design notes §4.4. The SRVs, bodies and alert codes are verified; what each step does to the meter and
  the order of the flow are inferred or best known, unverified, and tagged so. UTRNs here are made in the
  emulator's own encoding, so the top-up scenarios are inconclusive on a real kit.)

  Background:
    Given a commissioned ESME and CHF
    And the gaining supplier is "90-B3-D5-1F-30-03-00-00"
    And the registration data shows the gaining supplier for the ESME from the supply start date
    And the losing supplier has put the ESME in prepayment mode

  @srv-1.5 @srv-2.3 @srv-6.23 @srv-4.18 @srv-6.2.9 @srv-2.1 @srv-4.13 @srv-4.3 @role-IS @cv-4 @cv-5 @cv-1 @conf-U
  Scenario: The gaining supplier keeps the meter in prepayment and adjusts its balance, debt and configuration (choice of steps best known, unverified)
    When the losing supplier sends SRV 1.5 to the ESME with AdjustMeterBalance "1200"
    Then a response I0 arrives
    When the losing supplier sends SRV 2.3 to the ESME with TimeDebtRegister1 "800" and PaymentDebtRegister "250"
    Then a response I0 arrives
    When the gaining supplier takes over the ESME with SRV 6.23
    When the gaining supplier sends SRV 4.18 to the ESME
    Then a response I0 arrives
    And the response reports meter_balance 1200
    When the gaining supplier sends SRV 6.2.9 to the ESME
    Then a response I0 arrives
    And the response reports payment_mode "Prepayment"
    When the gaining supplier sends SRV 4.3 to the ESME
    Then a response I0 arrives
    And the response reports debt.PaymentDebtRegister 250
    When the gaining supplier sends SRV 1.5 to the ESME with AdjustMeterBalance "-200"
    Then the acknowledgement is I99
    And a response I0 arrives
    And the device's response reports success
    When the gaining supplier sends SRV 2.3 to the ESME with TimeDebtRegister1 "0" and PaymentDebtRegister "0" and DebtRecoveryPerPayment "0"
    Then a response I0 arrives
    When the gaining supplier sends SRV 2.1 to the ESME with EmergencyCreditLimit "500" and EmergencyCreditThreshold "200" and LowCreditThreshold "300" and MaxCreditThreshold "50000"
    Then a response I0 arrives
    When the gaining supplier sends SRV 4.13 to the ESME
    Then a response I0 arrives
    And the response reports prepay_configuration.EmergencyCreditThreshold 200
    And the response reports prepay_configuration.MaxCreditThreshold 50000
    When the gaining supplier sends SRV 4.3 to the ESME
    Then a response I0 arrives
    And the response reports meter_balance 1000
    And the response reports debt.TimeDebtRegister1 0

  @srv-1.5 @srv-6.23 @srv-1.6 @srv-6.2.9 @srv-4.18 @role-IS @cv-4 @cv-5 @cv-1 @conf-U
  Scenario: The gaining supplier switches the meter to credit mode (choice of steps best known, unverified)
    When the losing supplier sends SRV 1.5 to the ESME with AdjustMeterBalance "700"
    Then a response I0 arrives
    When the gaining supplier takes over the ESME with SRV 6.23
    When the gaining supplier sends SRV 1.6 to the ESME with PaymentMode "Credit"
    Then the acknowledgement is I99
    And a response I0 arrives
    And the device's response reports success
    When the gaining supplier sends SRV 1.5 to the ESME with PaymentMode "Credit" and MeterBalanceAction "ResetMeterBalance"
    Then a response I0 arrives
    And the device's response reports success
    When the gaining supplier sends SRV 6.2.9 to the ESME
    Then a response I0 arrives
    And the response reports payment_mode "Credit"
    When the gaining supplier sends SRV 4.18 to the ESME
    Then a response I0 arrives
    And the response reports meter_balance 0

  @srv-2.2 @srv-6.23 @srv-4.18 @role-IS @cv-1 @conf-I
  Scenario: After the change the losing supplier's UTRNs are no longer valid on the meter
    When the losing supplier tops up the ESME with a UTRN for 300 pence
    Then the ESME accepts the UTRN
    When the gaining supplier takes over the ESME with SRV 6.23
    When the losing supplier tops up the ESME with a UTRN for 300 pence
    Then the DCC refuses the losing supplier's request as it is not the registered supplier
    When the gaining supplier tops up the ESME with a UTRN for 300 pence issued by the losing supplier
    Then the acknowledgement is I99
    And the ESME refuses the losing supplier's UTRN as not authentic
    And device alert 8F63 arrives from the ESME
    When the gaining supplier sends SRV 4.18 to the ESME
    Then a response I0 arrives
    And the response reports meter_balance 300

  @srv-2.2 @srv-6.23 @srv-4.4.5 @srv-4.18 @role-IS @cv-1 @conf-I
  Scenario: The gaining supplier's UTRNs are accepted once its credentials are on the meter
    When the gaining supplier tops up the ESME with a UTRN for 500 pence
    Then the DCC refuses the gaining supplier's request as it is not the registered supplier
    When the gaining supplier takes over the ESME with SRV 6.23 setting its top-up floor to 1
    When the gaining supplier tops up the ESME with a UTRN for 500 pence
    Then the acknowledgement is I99
    And the ESME accepts the UTRN
    When the gaining supplier sends SRV 4.4.5 to the ESME
    Then a response I0 arrives
    When the gaining supplier sends SRV 4.18 to the ESME
    Then a response I0 arrives
    And the response reports meter_balance 500

  @srv-2.1 @srv-2.5 @srv-6.23 @srv-4.3 @srv-4.14 @srv-2.2 @role-IS @cv-4 @cv-5 @cv-1 @conf-U
  Scenario: Emergency credit activated at the switch is still on the meter for the gaining supplier (carry-over best known, unverified)
    When the losing supplier sends SRV 2.1 to the ESME with EmergencyCreditThreshold "100" and EmergencyCreditLimit "600" and MaxMeterBalance "100000" and MaxCreditThreshold "50000"
    Then a response I0 arrives
    When the losing supplier sends SRV 2.5 to the ESME
    Then a response I0 arrives
    And the device's response reports success
    And device alert 81AB arrives from the ESME
    When the gaining supplier takes over the ESME with SRV 6.23
    When the gaining supplier sends SRV 4.3 to the ESME
    Then a response I0 arrives
    And the response reports emergency_credit.balance 600
    When the gaining supplier sends SRV 4.14 to the ESME
    Then a response I0 arrives
    And the GBCS payload answers that request
    When the gaining supplier tops up the ESME with a UTRN for 1000 pence
    Then the ESME accepts the UTRN

  @srv-7.2 @srv-6.23 @srv-7.4 @srv-2.2 @srv-7.3 @srv-7.1 @role-IS @cv-4 @cv-5 @cv-1 @conf-I
  Scenario: Supply disabled at the switch is armed and enabled by the gaining supplier
    When the losing supplier sends SRV 7.2 to the ESME
    Then a response I0 arrives
    And the device's response reports success
    When the gaining supplier takes over the ESME with SRV 6.23
    When the gaining supplier sends SRV 7.4 to the ESME
    Then a response I0 arrives
    And the response reports supply "Disabled"
    When the gaining supplier tops up the ESME with a UTRN for 800 pence
    Then the ESME accepts the UTRN
    When the gaining supplier sends SRV 7.3 to the ESME
    Then the acknowledgement is I99
    And a response I0 arrives
    And the device's response reports success
    And device alert 8F32 arrives from the ESME
    When the gaining supplier sends SRV 7.4 to the ESME
    Then a response I0 arrives
    And the response reports supply "Armed"
    When the gaining supplier sends SRV 7.1 to the ESME
    Then a response I0 arrives
    And the device's response reports success
    When the gaining supplier sends SRV 7.4 to the ESME
    Then a response I0 arrives
    And the response reports supply "Enabled"
    When the losing supplier sends SRV 7.1 to the ESME
    Then the DCC refuses the losing supplier's request as it is not the registered supplier

  @srv-6.23 @srv-2.2 @srv-4.4.5 @srv-4.18 @role-IS @cv-1 @conf-I
  Scenario: UTRNs at or below the gaining supplier's top-up floor are refused as already used
    When the gaining supplier takes over the ESME with SRV 6.23 setting its top-up floor to 9223372032559808512
    When the gaining supplier tops up the ESME with a UTRN for 400 pence
    Then the acknowledgement is I99
    And the ESME refuses the UTRN as already used
    And device alert 8F51 arrives from the ESME
    When the gaining supplier sends SRV 4.4.5 to the ESME
    Then a response I0 arrives
    When the gaining supplier sends SRV 4.18 to the ESME
    Then a response I0 arrives
    And the response reports meter_balance 0
