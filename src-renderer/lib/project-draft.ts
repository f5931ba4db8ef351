/** The new-project form's editable identity (consent flattened). */
export interface IdentityDraft {
  name: string;
  sources: string[];
  agreedBy: string;
  note: string;
  date: string;
}
