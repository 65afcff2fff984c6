"""Files in and out: readers, validation, hostile-input guards, plan files, coordinate systems, bundled geodata."""
