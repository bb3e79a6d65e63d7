"""Run many tenant stacks: which stacks a change touches, the Automation API behind a small
interface, bounded parallel scheduling with isolated failures, progress and reports."""
