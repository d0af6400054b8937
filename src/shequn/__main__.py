from shequn.cli.main import app

app(prog_name="shequn")
