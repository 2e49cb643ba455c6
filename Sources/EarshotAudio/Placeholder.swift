public enum EarshotAudioPlaceholder {}
