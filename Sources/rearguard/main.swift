import RearguardCLI

await Rearguard.runAsRoot()
