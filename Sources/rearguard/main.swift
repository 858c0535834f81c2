import RearguardCLI

await Rearguard.main()
