import KadendeCLI

await KadendeCommand.runFromCommandLine()
