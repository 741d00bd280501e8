"""涉税舆情值守机器人: a WeCom bot that runs a tax bureau's online public-opinion watch.

`python -m bot` is the command line (`bot.cli`); `bot.app.App` holds the running bot.
"""
