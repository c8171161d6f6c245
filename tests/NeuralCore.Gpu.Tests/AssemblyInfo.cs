// One simulated accelerator serves every test, and memory/transfer counters are per device: run sequentially.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
