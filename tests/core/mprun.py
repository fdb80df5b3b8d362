# Run core test modules on the MicroPython unix port: micropython mprun.py test_x [test_y ...]
# Prints one line per test and "N passed, N failed"; exits 1 if any failed.
import sys

passed = 0
failed = 0
for name in sys.argv[1:]:
    mod = __import__(name)
    for attr in sorted(dir(mod)):
        if not attr.startswith("test_"):
            continue
        fn = getattr(mod, attr)
        try:
            fn()
            passed += 1
            print("PASS", name, attr)
        except Exception as e:
            failed += 1
            print("FAIL", name, attr, type(e).__name__, e)
            sys.print_exception(e)
print("{} passed, {} failed".format(passed, failed))
sys.exit(1 if failed or not passed else 0)
