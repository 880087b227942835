# Convenience targets; the scripts are the source of truth.
.PHONY: demo test bench release

demo:
	scripts/demo.sh

test:
	scripts/test.sh

bench:
	bench/proxy.sh

release:
	swift build -c release -Xswiftc -enforce-exclusivity=unchecked
