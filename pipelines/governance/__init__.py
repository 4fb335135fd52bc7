"""What serves people and operators: status and search, quarantine, budgets, outputs, alerts, index versions, doctor."""
