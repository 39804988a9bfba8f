// Owns the precompiled torch header that other targets reuse.
