import KadendeCLI

await KadendeCommand.main()
