voters 3
start all
crash 1 on durable everything
