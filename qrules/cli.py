import sys

def main(argv=None) -> int:
    return 0
