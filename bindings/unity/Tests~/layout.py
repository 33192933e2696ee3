#!/usr/bin/env python3
"""Writes a C program that prints the layout of every struct in include/sgaps.h: its
size ("SgapsFrame 72") and each field's offset and size ("SgapsFrame.frame_id 0 8").
The fields are read from the header itself, so a field added there shows up in the
comparison with the C# declarations (Headless/LayoutTest.cs) without editing this.

    python3 layout.py include/sgaps.h > layout.c
"""
import re
import sys


def structs(header):
    """(name, [field, ...]) for each `typedef struct Name { ... } Name;`."""
    for match in re.finditer(r"typedef struct (\w+) \{(.*?)\} \1;", header, re.S):
        body = re.sub(r"//[^\n]*|/\*.*?\*/", "", match.group(2), flags=re.S)
        fields = [re.match(r".*?(\w+)\s*(\[[^\]]*\])?$", d.strip()).group(1)
                  for d in body.split(";") if d.strip()]
        yield match.group(1), fields


def main():
    header = open(sys.argv[1]).read()
    print('#include <stdio.h>\n#include <stddef.h>\n#include "sgaps.h"\n\nint main(void) {')
    for name, fields in structs(header):
        print(f'    printf("{name} %zu\\n", sizeof({name}));')
        for field in fields:
            print(f'    printf("{name}.{field} %zu %zu\\n", offsetof({name}, {field}), sizeof((({name} *)0)->{field}));')
    print("    return 0;\n}")


if __name__ == "__main__":
    main()
