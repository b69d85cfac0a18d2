"""The directory (ENT-1, ENT-2, ENT-7, ENT-9, ENT-11): member cards, the org editor (directory.org),
contact matching, the console home."""
