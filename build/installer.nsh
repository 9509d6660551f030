; Fleet rollout (NSIS): a colony-config.json beside the installer (join token + policy) is copied
; into the install folder, where the app reads it on first start. Silent install: Colony-Setup.exe /S
!macro customInstall
  IfFileExists "$EXEDIR\colony-config.json" 0 +2
    CopyFiles /SILENT "$EXEDIR\colony-config.json" "$INSTDIR\colony-config.json"
!macroend
