"""`python -m mentorctl`."""

from mentorctl.cli.main import run

if __name__ == "__main__":
    run()
