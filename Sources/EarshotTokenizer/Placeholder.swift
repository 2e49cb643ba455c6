public enum EarshotTokenizerPlaceholder {}
