"""core: settings, domain types, exit codes and validators of Vietnamese codes, shared by every stage."""
