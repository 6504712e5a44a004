"""The party's own DCC user system under test: the embedded emulator plays its DCC and judges it.

drivers.py    how the suite asks their system to act (HTTP trigger, command line, a person)
judge.py      the emulated DCC that records and checks every request their system sends
rrs_check.py  what their Receive Response Service accepts and refuses
"""
