import RearguardCLI

await Rearguard.start()
