"""The LanceDB table `chunks` and the commit protocol that keeps it and the ledger in step."""
