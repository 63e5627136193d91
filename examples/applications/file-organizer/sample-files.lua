-- The messy folder file-organizer starts from: name and a line of content for each file.
return {
    {name = "vacation_photo_2023.jpg", content = "JPEG placeholder: beach at sunset, July 2023"},
    {name = "important_document.pdf", content = "PDF placeholder: signed rental agreement"},
    {name = "random_notes.txt", content = "buy milk; call the dentist; renew passport"},
    {name = "project_code.py", content = "def main():\n    print('hello')\n"},
    {name = "music_track.mp3", content = "MP3 placeholder: demo track, 3:41"},
    {name = "presentation_draft.pptx", content = "PPTX placeholder: Q3 roadmap, 12 slides"},
    {name = "backup_archive.zip", content = "ZIP placeholder: photos backup March"},
    {name = "screenshot_20240822.png", content = "PNG placeholder: error dialog screenshot"},
    {name = "meeting_notes_Q3.docx", content = "DOCX placeholder: Q3 planning meeting notes"},
    {name = "video_tutorial.mp4", content = "MP4 placeholder: 10 minute Lua tutorial"},
}
