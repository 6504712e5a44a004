@dn-time-management
Feature: Time Management: keeping meter clocks on the DCC's time
  The hub takes its time from the SM WAN and the meters keep theirs from the hub; a Supplier sets a
  meter's clock when it commissions it (SRV 8.1.1) and corrects drift with SRV 6.11 Synchronise Clock,
  a critical command that the meter applies only when the time sent is within the tolerance of its own
  clock (8145 adjusted, 81C6 outside tolerance, 8F0C a step too large). Every DUIS date-time is UTC, so a
  command future-dated across the change to British Summer Time runs at the UTC instant named.
  Gas registers come from the GSME itself ("unreliable": the battery meter's own clock) or from the GPF's
  copy ("reliable": the hub's clock).
  (Design notes §4.7. SRVs, alert codes and RTDS tolerances are verified; what triggers each alert and
  the meaning of the reliable / unreliable variants are inferred, and the hub-to-meter time chain is best
  known, unverified.)

  Background:
    Given a commissioned ESME, GSME, GPF and CHF

  @srv-6.11 @role-IS @cv-4 @cv-5 @conf-I
  Scenario: A clock within tolerance is synchronised and stays on the DCC's time
    Given the ESME's clock has drifted 8 seconds ahead
    When the Import Supplier synchronises the ESME's clock with a tolerance of 60 seconds
    Then the acknowledgement is I99
    And a response I0 arrives
    And the device's response reports success
    And device alert 8145 arrives from the ESME
    And a further synchronisation finds the ESME's clock within 2 seconds of the DCC's time
    And no further message arrives within the quiet time

  @srv-6.11 @role-IS @cv-4 @cv-5 @conf-I
  Scenario: A synchronisation with a time stamp outside the tolerance leaves the clock alone
    Given the ESME's clock has drifted 5 seconds behind
    When the Import Supplier synchronises the ESME's clock with a tolerance of 60 seconds using a time 5 minutes old
    Then the acknowledgement is I99
    And a response I0 arrives
    And the device's response reports failure
    And device alert 81C6 arrives from the ESME
    When the Import Supplier synchronises the ESME's clock with a tolerance of 60 seconds
    Then a response I0 arrives
    And the device's response reports success
    And device alert 8145 arrives from the ESME

  @srv-6.11 @role-IS @cv-4 @cv-5 @conf-I
  Scenario: A routine synchronisation does not step a clock by more than ten seconds
    Given the ESME's clock has drifted 40 seconds ahead
    When the Import Supplier synchronises the ESME's clock with a tolerance of 60 seconds
    Then a response I0 arrives
    And the device's response reports failure
    And device alert 8F0C arrives from the ESME
    And no further message arrives within the quiet time

  @srv-6.11 @role-GS @cv-4 @cv-5 @conf-I
  Scenario: The GSME takes a synchronisation within the gas tolerance of an hour
    Given the GSME's clock has drifted 6 seconds behind
    When the Gas Supplier synchronises the GSME's clock with a tolerance of 3600 seconds using a time 90 minutes old
    Then a response I0 arrives
    And the GBCS payload answers that request
    And device alert 81C6 arrives from the GSME
    When the Gas Supplier synchronises the GSME's clock with a tolerance of 3600 seconds
    Then the acknowledgement is I99
    And a response I0 arrives
    And the GBCS payload answers that request
    And device alert 8145 arrives from the GSME
    And a further synchronisation finds the GSME's clock within 2 seconds of the DCC's time

  @srv-8.1.1 @srv-8.2 @srv-6.11 @role-IS @cv-4 @cv-5 @cv-8 @conf-I
  Scenario: Commissioning sets the meter's clock, and a stale time leaves it uncommissioned
    Given the installer has just joined the ESME to the hub, not yet commissioned
    And the ESME's clock has drifted 30 seconds behind
    When the Import Supplier sends SRV 8.1.1 to the ESME with CurrentDateTime "2020-01-01T00:00:00Z" and TolerancePeriod "60" as a critical request
    Then the acknowledgement is I99
    And a response I0 arrives
    And the device's response reports failure
    And device alert 81C6 arrives from the ESME
    And the ESME's SMI status is "Installed Not Commissioned"
    When the Import Supplier commissions the ESME with the DCC's time and a tolerance of 60 seconds
    Then a response I0 arrives
    And the device's response reports success
    And device alert 8145 arrives from the ESME
    And device alert 8F69 arrives from the ESME
    And the ESME's SMI status is "Commissioned"
    And a further synchronisation finds the ESME's clock within 2 seconds of the DCC's time

  @srv-1.1.1 @srv-4.11.1 @role-IS @cv-4 @cv-5 @cv-1 @conf-I
  Scenario: A command future-dated across the change to British Summer Time runs at the UTC time named
    Given the DCC's time is 1 hour before the clocks go forward to British Summer Time
    When the Import Supplier sends SRV 1.1.1 to the ESME with SeasonName "bst27" to execute 30 minutes after the clocks go forward
    Then the acknowledgement is I99
    And a response I0 arrives
    When 59 minutes pass
    Then the command has not been actioned yet
    And nothing the future-dated request causes arrives before its execution date-time
    When the execution date-time passes
    Then a future-dated alert 8F66 arrives for that request
    When the Import Supplier sends SRV 4.11.1 to the ESME
    Then a response I0 arrives
    And the response reports tariff.season "bst27"

  @srv-4.1.1 @srv-6.11 @role-GS @cv-1 @cv-4 @cv-5 @conf-I
  Scenario: Gas registers read from the GSME carry its own clock, read from the GPF the hub's
    Given the GSME's clock has drifted 9 seconds ahead
    When the Gas Supplier sends SRV 4.1.1 to the GPF
    Then a response I0 arrives
    And the reading comes from the GPF's copy of the gas registers
    And the reading is stamped with the DCC's time within 2 seconds
    When the Gas Supplier sends SRV 4.1.1 to the GSME
    Then a response I0 arrives
    And the reading comes from the GSME itself
    And the reading is stamped 9 seconds ahead of the DCC's time
    When the Gas Supplier synchronises the GSME's clock with a tolerance of 3600 seconds
    Then a response I0 arrives
    And device alert 8145 arrives from the GSME
    When the Gas Supplier sends SRV 4.1.1 to the GSME
    Then a response I0 arrives
    And the reading is stamped with the DCC's time within 2 seconds
