"""Perisai's local runtime: the synthesized stack served on one machine with moto as AWS.

Everything it serves (routes, handlers, environment, tables, bus, rules, queues, event
source mappings, schedules) is read from the synthesized CloudFormation template.
"""
