"""`python -m mentorctl`."""

from mentorctl.cli.main import console

if __name__ == "__main__":
    console()
