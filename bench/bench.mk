bench: $(BIN)
	@echo "bench: not yet"
