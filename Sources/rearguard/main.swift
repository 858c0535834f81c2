import RearguardCLI

await Rearguard.runAsync()
