"""Where training runs: devices, CPU threads, mixed precision, memory estimates."""
