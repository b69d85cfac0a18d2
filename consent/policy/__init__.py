"""The platform privacy policy (CON-1, CON-2): versions, acceptance, the interstitial."""
